// Probability-flow ODE samplers (Euler, Heun) against the exact Gaussian flow map.
#include "tests/gaussian_flow.h"

#include <gtest/gtest.h>

namespace diffuse::testing {
namespace {

double ode_error_slope(const std::string& sampler, const std::string& process_kind) {
  ProcessConfig process_config;
  process_config.kind = process_kind;
  const auto process = make_process(process_config);
  std::vector<double> steps, errors;
  for (int k : {16, 32, 64}) {
    SamplerConfig config;
    config.name = sampler;
    config.steps = k;
    config.grid = "logsnr";
    steps.push_back(k);
    errors.push_back(ode_map_error(config, process, GaussianTarget{}));
  }
  return log_log_slope(steps, errors);
}

// Global order p shows as a slope of -p in log error vs log steps; 0.25 covers pre-asymptotics.
TEST(SamplerOdeTest, EulerIsFirstOrder) {
  for (const char* kind : {"vp-linear", "edm", "rf"})
    EXPECT_NEAR(ode_error_slope("euler", kind), -1.0, 0.25) << kind;
}

TEST(SamplerOdeTest, HeunIsSecondOrder) {
  for (const char* kind : {"vp-linear", "edm", "rf"})
    EXPECT_NEAR(ode_error_slope("heun", kind), -2.0, 0.25) << kind;
}

}  // namespace
}  // namespace diffuse::testing
