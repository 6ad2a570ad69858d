// apps/bench/stats.h, the library half of `diffuse bench`, without the command: quartiles by
// linear interpolation between order statistics (numpy.quantile's default method), worked out
// by hand below, and the JSON record's scaling.
#include "apps/bench/stats.h"
#include "core/base/errors.h"

#include <gtest/gtest.h>

namespace diffuse {
namespace {

TEST(BenchStats, QuartilesInterpolateBetweenOrderStatistics) {
  // Sorted 1 2 3 4 5 10; numpy's quantile q sits at position q (n - 1) = 1.25, 2.5, 3.75:
  // q1 = 2 + 0.25 (3 - 2), median = (3 + 4) / 2, q3 = 4 + 0.75 (5 - 4).
  const auto s = summarize({5.0, 1.0, 4.0, 2.0, 3.0, 10.0});
  EXPECT_DOUBLE_EQ(s.q1, 2.25);
  EXPECT_DOUBLE_EQ(s.median, 3.5);
  EXPECT_DOUBLE_EQ(s.q3, 4.75);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  EXPECT_EQ(s.repeats, 6);
  const auto one = summarize({0.5});
  EXPECT_DOUBLE_EQ(one.q1, 0.5);
  EXPECT_DOUBLE_EQ(one.q3, 0.5);
}

TEST(BenchStats, TheRecordIsScaledAndAnEmptyListRefused) {
  const auto record = to_json(summarize({0.012, 0.011, 0.013}), 1e3);
  EXPECT_DOUBLE_EQ(record["median"].get<double>(), 12.0);
  EXPECT_DOUBLE_EQ(record["q1"].get<double>(), 11.5);
  EXPECT_DOUBLE_EQ(record["max"].get<double>(), 13.0);
  EXPECT_EQ(record["repeats"].get<int>(), 3);
  EXPECT_THROW(summarize({}), InputError);
}

}  // namespace
}  // namespace diffuse
