#include "apps/bench/stats.h"

#include "core/base/errors.h"

#include <algorithm>
#include <cmath>

namespace diffuse {

namespace {

// The q-quantile of sorted values, interpolated linearly between neighbours.
double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const auto above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

}  // namespace

TimingStats summarize(std::vector<double> values) {
  require(!values.empty(), "summarize: no timings");
  std::sort(values.begin(), values.end());
  TimingStats s;
  s.median = quantile(values, 0.5);
  s.q1 = quantile(values, 0.25);
  s.q3 = quantile(values, 0.75);
  s.min = values.front();
  s.max = values.back();
  s.repeats = static_cast<int>(values.size());
  return s;
}

nlohmann::json to_json(const TimingStats& s, double scale) {
  return {{"median", s.median * scale}, {"min", s.min * scale}, {"max", s.max * scale},
          {"q1", s.q1 * scale},         {"q3", s.q3 * scale},   {"repeats", s.repeats}};
}

}  // namespace diffuse
