// Time grids (core/process/time_grid.h): K + 1 points, exact endpoints, strictly decreasing, equal
// steps in each grid's own variable, EDM eq. 5 written out, DDPM knots, and the input errors.
#include "core/base/errors.h"
#include "core/process/process.h"
#include "core/process/time_grid.h"
#include "tests/process_fixture.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

namespace diffuse {
namespace {

using testing::process_of;

// A config of the given kind and steps, other fields at their defaults.
TimeGridConfig grid_of(const std::string& kind, int steps, double rho = 7.0) {
  TimeGridConfig config;
  config.kind = kind;
  config.steps = steps;
  config.rho = rho;
  return config;
}

// rf has alpha = 0 at its default t_max = 1, where lambda = -inf: grids built in lambda start
// below it.
TimeGridConfig grid_config(const ForwardProcess& process, const std::string& kind, int steps) {
  TimeGridConfig config;
  config.kind = kind;
  config.steps = steps;
  if ((kind == "logsnr" || kind == "karras") && !std::isfinite(process.lambda(process.t_max())))
    config.t_start = process.t_min() + 0.99 * (process.t_max() - process.t_min());
  return config;
}

// Every (process kind, continuous grid kind) pair: the shape invariants.
class GridShape : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(GridShape, EndpointsExactDecreasingKPlusOnePoints) {
  const auto& [process_kind, grid_kind] = GetParam();
  const auto process = process_of(process_kind);
  for (const int steps : {1, 2, 7, 50, 500}) {
    const auto config = grid_config(*process, grid_kind, steps);
    const auto grid = make_time_grid(*process, config);
    ASSERT_EQ(grid.size(), std::size_t(steps) + 1);
    EXPECT_EQ(grid.front(), config.t_start.value_or(process->t_max()));
    EXPECT_EQ(grid.back(), process->t_min());
    for (std::size_t k = 0; k + 1 < grid.size(); ++k)
      ASSERT_LT(grid[k + 1], grid[k]) << "k = " << k << ", steps = " << steps;
  }
}

std::string pair_name(
    const ::testing::TestParamInfo<std::tuple<std::string, std::string>>& info) {
  std::string name = std::get<0>(info.param) + "_" + std::get<1>(info.param);
  for (auto& c : name)
    if (c == '-') c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(TimeGrid, GridShape,
                         ::testing::Combine(::testing::ValuesIn(process_kinds()),
                                            ::testing::Values("uniform", "logsnr", "quadratic",
                                                              "karras")),
                         pair_name);

// Max deviation of the steps of u(grid) from their mean, relative to the whole span of u.
template <class U>
double spacing_error(const std::vector<double>& grid, U u) {
  const double span = u(grid.back()) - u(grid.front());
  const double step = span / double(grid.size() - 1);
  double worst = 0;
  for (std::size_t k = 0; k + 1 < grid.size(); ++k)
    worst = std::max(worst, std::abs(u(grid[k + 1]) - u(grid[k]) - step) / std::abs(span));
  return worst;
}

TEST(TimeGrid, UniformIsEvenlySpacedInT) {
  const auto process = process_of("vp-linear");
  const auto grid = make_time_grid(*process, grid_of("uniform", 40));
  EXPECT_LT(spacing_error(grid, [](double t) { return t; }), 1e-12);
  EXPECT_DOUBLE_EQ(grid[1], 1.0 - (1.0 - 1e-3) / 40);
}

TEST(TimeGrid, QuadraticIsEvenlySpacedInSqrtT) {
  const auto process = process_of("edm");
  const auto grid = make_time_grid(*process, grid_of("quadratic", 25));
  EXPECT_LT(spacing_error(grid, [](double t) { return std::sqrt(t); }), 1e-12);
}

TEST(TimeGrid, LogSnrIsEvenlySpacedInLambdaForEveryProcess) {
  for (const auto& kind : process_kinds()) {
    const auto process = process_of(kind);
    const auto grid = make_time_grid(*process, grid_config(*process, "logsnr", 30));
    const double error = spacing_error(grid, [&](double t) { return process->lambda(t); });
    EXPECT_LT(error, 1e-9) << kind;
  }
}

TEST(TimeGrid, KarrasIsEvenlySpacedInNoiseRatioToTheOneOverRho) {
  for (const auto& kind : process_kinds()) {
    const auto process = process_of(kind);
    for (const double rho : {1.0, 3.0, 7.0}) {
      auto config = grid_config(*process, "karras", 30);
      config.rho = rho;
      const auto grid = make_time_grid(*process, config);
      // (sigma / alpha)^(1 / rho), computed from the process's own alpha and sigma.
      const auto u = [&](double t) {
        return std::pow(process->sigma(t) / process->alpha(t), 1.0 / rho);
      };
      EXPECT_LT(spacing_error(grid, u), 1e-9) << kind << ", rho = " << rho;
    }
  }
}

TEST(TimeGrid, KarrasOnEdmIsEdmEquationFive) {
  // Karras et al. 2022, eq. 5, with N = K + 1 points and no appended sigma_N = 0:
  // sigma_i = (sigma_max^(1/rho) + i / (N - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho.
  const auto process = process_of("edm");
  const double sigma_min = 0.002, sigma_max = 80.0, rho = 7.0;
  const int n = 18;
  const auto grid = make_time_grid(*process, grid_of("karras", n - 1, rho));
  ASSERT_EQ(grid.size(), std::size_t(n));
  for (int i = 0; i < n; ++i) {
    const double a = std::pow(sigma_max, 1 / rho), b = std::pow(sigma_min, 1 / rho);
    const double sigma_i = std::pow(a + double(i) / (n - 1) * (b - a), rho);
    EXPECT_NEAR(grid[i], sigma_i, 1e-12 * sigma_i) << "i = " << i;
  }
  EXPECT_NEAR(grid[1], 57.5860, 1e-4);  // the second sigma of EDM's 18-step grid
}

TEST(TimeGrid, CustomEndpointsAreUsedExactly) {
  const auto process = process_of("vp-cosine");
  auto config = grid_of("logsnr", 12);
  config.t_start = 0.7;
  config.t_end = 0.05;
  const auto grid = make_time_grid(*process, config);
  EXPECT_EQ(grid.front(), 0.7);
  EXPECT_EQ(grid.back(), 0.05);
}

TEST(TimeGrid, DdpmAllTakesEveryKnot) {
  for (const auto& kind : {"ddpm", "ddpm-theory"}) {
    const auto process = process_of(kind);
    ASSERT_EQ(process->num_discrete_steps(), 1000);
    const auto grid = make_time_grid(*process, grid_of("ddpm", 999));
    ASSERT_EQ(grid.size(), 1000u);
    for (int k = 0; k < 1000; ++k) ASSERT_EQ(grid[k], double(1000 - k) / 1000) << "k = " << k;
  }
}

// Knot indices i = t N of a ddpm grid on a process with N knots.
std::vector<int> knots(int n, int steps, const std::string& spacing) {
  ProcessConfig process_config;
  process_config.kind = "ddpm";
  process_config.num_steps = n;
  const auto process = make_process(process_config);
  auto config = grid_of("ddpm", steps);
  config.spacing = spacing;
  std::vector<int> out;
  for (const double t : make_time_grid(*process, config)) {
    const double i = t * n;
    EXPECT_NEAR(i, std::round(i), 1e-9);
    out.push_back(int(std::round(i)));
  }
  return out;
}

TEST(TimeGrid, DdpmSubsetSpacings) {
  // N = 10, K = 4: D = 9 knot intervals, DDIM stride c = floor(9 / 4) = 2.
  EXPECT_EQ(knots(10, 4, "even"), (std::vector<int>{10, 8, 6, 3, 1}));  // 1 + round(9 (4-k)/4)
  EXPECT_EQ(knots(10, 4, "trailing"), (std::vector<int>{10, 8, 6, 4, 1}));
  EXPECT_EQ(knots(10, 4, "leading"), (std::vector<int>{10, 7, 5, 3, 1}));
  EXPECT_EQ(knots(10, 3, "even"), (std::vector<int>{10, 7, 4, 1}));
  EXPECT_EQ(knots(10, 1, "even"), (std::vector<int>{10, 1}));
  // The usual 50 of 1000: evenly spread knots, steps of 19 or 20 knot intervals.
  const auto subset = knots(1000, 50, "even");
  ASSERT_EQ(subset.size(), 51u);
  EXPECT_EQ(subset.front(), 1000);
  EXPECT_EQ(subset.back(), 1);
  for (std::size_t k = 0; k + 1 < subset.size(); ++k) {
    const int step = subset[k] - subset[k + 1];
    EXPECT_TRUE(step == 19 || step == 20) << "k = " << k << ": " << step;
  }
}

// Expects make_time_grid to throw an InputError whose message contains `needle`.
void expect_grid_error(const std::string& process_kind, const TimeGridConfig& config,
                       const std::string& needle) {
  const auto process = process_of(process_kind);
  try {
    make_time_grid(*process, config);
    ADD_FAILURE() << "no InputError for " << config.kind << " on " << process_kind;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TimeGrid, InputErrors) {
  expect_grid_error("vp-linear", grid_of("uniform", 0), "steps");
  expect_grid_error("vp-linear", grid_of("logsnr", -3), "steps");
  expect_grid_error("vp-linear", grid_of("wiggly", 10), "kind");

  auto reversed = grid_of("uniform", 10);
  reversed.t_start = 0.2;
  reversed.t_end = 0.5;
  expect_grid_error("vp-linear", reversed, "t_end < t_start");
  reversed.t_end = 0.2;
  expect_grid_error("vp-linear", reversed, "t_end < t_start");

  auto outside = grid_of("uniform", 10);
  outside.t_start = 2.0;
  expect_grid_error("vp-linear", outside, "t_max");

  expect_grid_error("vp-linear", grid_of("ddpm", 10), "discrete process");
  expect_grid_error("edm", grid_of("ddpm", 10), "discrete process");
  expect_grid_error("ddpm", grid_of("ddpm", 1000), "at most 999 steps");
  auto off_knot = grid_of("ddpm", 10);
  off_knot.t_start = 0.5005;
  expect_grid_error("ddpm", off_knot, "not a knot");
  auto bad_spacing = grid_of("ddpm", 10);
  bad_spacing.spacing = "sideways";
  expect_grid_error("ddpm", bad_spacing, "spacing");

  // rf run to t = 1, where alpha = 0: grids in lambda cannot start there.
  ProcessConfig rf_to_one;
  rf_to_one.kind = "rf";
  rf_to_one.t_max = 1.0;
  for (const char* kind : {"logsnr", "karras"})
    EXPECT_THROW(make_time_grid(*make_process(rf_to_one), grid_of(kind, 10)), InputError) << kind;
  expect_grid_error("edm", grid_of("karras", 10, 0.0), "rho");

  // Points that collide in float64 break the invariant, with a message.
  auto tiny = grid_of("uniform", 1000);
  tiny.t_start = 0.5 + 1e-14;
  tiny.t_end = 0.5;
  expect_grid_error("vp-linear", tiny, "strictly decreasing");
}

TEST(TimeGrid, ConfigLoadsStrictlyAndNamesTheKey) {
  const auto config =
      config::load<TimeGridConfig>(YAML::Load("{kind: karras, steps: 18, rho: 5, t_end: 0.01}"));
  EXPECT_EQ(config.kind, "karras");
  EXPECT_EQ(config.steps, 18);
  EXPECT_EQ(config.rho, 5.0);
  EXPECT_EQ(config.t_end, 0.01);
  EXPECT_FALSE(config.t_start.has_value());
  const auto expect_load_error = [](const std::string& yaml, const std::string& needle) {
    try {
      config::load<TimeGridConfig>(YAML::Load(yaml), "grid");
      ADD_FAILURE() << "no InputError for " << yaml;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_load_error("{steps: 0}", "grid.steps");
  expect_load_error("{kind: cubic}", "grid.kind");
  expect_load_error("{spacing: sideways}", "grid.spacing");
  expect_load_error("{steep: 3}", "grid.steep");
  // Dump and load give the same config back.
  const auto again = config::load<TimeGridConfig>(YAML::Load(config::to_yaml(config)));
  EXPECT_EQ(again.kind, config.kind);
  EXPECT_EQ(again.steps, config.steps);
  EXPECT_EQ(again.rho, config.rho);
  EXPECT_EQ(again.t_end, config.t_end);
}

}  // namespace
}  // namespace diffuse
