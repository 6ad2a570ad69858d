// The accelerated second-order sampler of Li, Huang et al. (samplers/accelerated.h) against the
// exact Gaussian PF-ODE map: its construction (a score linear in abar through two grid points)
// makes it second order, so the error falls as K^-2, and at equal NFE it beats first-order DDIM
// on fine grids. The K-th order sampler (li-kth-K) against the same exact map: one step's local
// error against step length (order + 1), and the global slope.
#include "samplers/accelerated.h"
#include "tests/gaussian_flow.h"
#include "tests/process_fixture.h"

#include <gtest/gtest.h>

#include <iostream>

namespace diffuse::testing {
namespace {

double error_of(const std::string& sampler, const ProcessPtr& process, const std::string& grid,
                int steps) {
  SamplerConfig config;
  config.name = sampler;
  config.steps = steps;
  config.grid = grid;
  return ode_map_error(config, process, GaussianTarget{});
}

double slope_of(const std::string& sampler, const std::string& kind, const std::string& grid,
                std::vector<int> ks = {16, 32, 64}) {
  const auto process = process_of(kind);
  std::vector<double> steps, errors;
  for (int k : ks) {
    steps.push_back(k);
    errors.push_back(error_of(sampler, process, grid, k));
  }
  const double slope = log_log_slope(steps, errors);
  std::cout << "[measured] " << sampler << " on " << kind << " (" << grid
            << " grid): slope " << slope << "\n";
  return slope;
}

TEST(AcceleratedTest, IsSecondOrderOnLogSnrGrids) {
  for (const char* kind : {"vp-linear", "vp-cosine"})
    EXPECT_NEAR(slope_of("li-accelerated-2", kind, "logsnr"), -2.0, 0.25) << kind;
}

TEST(AcceleratedTest, IsSecondOrderOnTheDiscreteSchedule) {
  EXPECT_NEAR(slope_of("li-accelerated-2", "ddpm", "ddpm"), -2.0, 0.3);
}

TEST(AcceleratedTest, BeatsDdimAtEqualNfeOnFineGrids) {
  // Second order against first order: the ratio to DDIM's error shrinks as K grows, and on fine
  // grids the accelerated sampler wins (its coefficients expand in 1 - alpha_t, so not on coarse
  // grids; see samplers/accelerated.h).
  for (const char* kind : {"vp-linear", "ddpm"}) {
    const auto process = process_of(kind);
    const std::string grid = process->num_discrete_steps() ? "ddpm" : "logsnr";
    double previous_ratio = 1e300;
    for (int k : {16, 64, 256}) {
      const double ratio = error_of("li-accelerated-2", process, grid, k) /
                           error_of("ddim", process, grid, k);
      EXPECT_LT(ratio, previous_ratio / 2.0) << kind << " K = " << k;
      previous_ratio = ratio;
    }
    EXPECT_LT(previous_ratio, 0.5) << kind << " K = 256";
  }
}

TEST(AcceleratedTest, OneStepIsTheFrozenScoreStep) {
  // Without history: sqrt(alpha_t) Y_s = Y_t + (1 - sqrt(alpha_t)) s_t(Y_t).
  const auto process = process_of("vp-linear");
  const GaussianTarget g;
  const auto denoiser = gaussian_denoiser(process, g);
  SamplerConfig config;
  config.name = "li-accelerated-2";
  config.times = {0.8, 0.5};
  NoiseSource noise(2, 0);
  const auto x = noise.next({5, g.dim}, torch::kFloat64);
  const auto out = run_sampler(config, denoiser, x, noise);
  const double root_alpha = process->alpha(0.8) / process->alpha(0.5);
  const auto expected = (x + (1.0 - root_alpha) * denoiser.score(x, 0.8)) / root_alpha;
  EXPECT_TRUE(torch::allclose(out, expected, 1e-12, 1e-12));
}

TEST(KthOrderTest, OneStepMatchesTheExactMapToOrderPlusOne) {
  // One step t -> t - delta from the same x_t against the exact PF-ODE map (the fine ODE solve of
  // Gaussian data): the local error of an order-p step falls like delta^(p + 1). Formal orders
  // (samplers/accelerated.h): 2, 3, 4 for K = 2, 3, 4 with K - 1 rounds.
  const auto process = process_of("vp-linear");
  const GaussianTarget g;
  const auto denoiser = gaussian_denoiser(process, g);
  NoiseSource noise(8, 0);
  const auto x = noise.next({64, g.dim}, torch::kFloat64) * marginal_std(*process, g, 0.5);
  for (int k = 2; k <= 4; ++k) {
    std::vector<double> inverse_delta, errors;
    for (double delta : {0.08, 0.04, 0.02}) {
      const auto out = sample_kth_order(denoiser, x, {0.5, 0.5 - delta}, k, k - 1);
      const auto exact = exact_flow(*process, g, x, 0.5, 0.5 - delta);
      inverse_delta.push_back(1.0 / delta);
      errors.push_back((out - exact).pow(2).mean().sqrt().item<double>());
    }
    const double slope = log_log_slope(inverse_delta, errors);
    std::cout << "[measured] li-kth-" << k << " one-step local error: slope " << slope << "\n";
    EXPECT_LT(slope, -(k + 1.0) + 0.3) << "K = " << k;
  }
}

TEST(KthOrderTest, GlobalOrders) {
  EXPECT_NEAR(slope_of("li-kth-2", "vp-linear", "logsnr", {64, 128, 256}), -2.0, 0.3);
  EXPECT_LT(slope_of("li-kth-3", "vp-linear", "logsnr"), -2.7);
  EXPECT_NEAR(slope_of("li-kth-4", "vp-linear", "logsnr"), -4.0, 0.3);
}

}  // namespace
}  // namespace diffuse::testing
