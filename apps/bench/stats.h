// Summaries of repeated timings for `diffuse bench`: the median, the extremes and the quartiles
// (linear interpolation between order statistics, numpy's default), so a report shows the spread
// as well as the centre. On a shared machine the median is the figure to compare.
//
//   TimingStats s = summarize({0.012, 0.011, 0.013});   // s.median == 0.012
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

namespace diffuse {

struct TimingStats {
  double median = 0.0, min = 0.0, max = 0.0, q1 = 0.0, q3 = 0.0;
  int repeats = 0;
};

// InputError for an empty list.
TimingStats summarize(std::vector<double> values);

// {"median", "min", "max", "q1", "q3", "repeats"}, each value multiplied by `scale` (1e3: ms).
nlohmann::json to_json(const TimingStats& stats, double scale = 1.0);

}  // namespace diffuse
