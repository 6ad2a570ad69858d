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

double accelerated_error(const std::string& sampler, const ProcessPtr& process, const std::string& grid,
                int steps) {
  SamplerConfig config;
  config.name = sampler;
  config.steps = steps;
  config.grid = grid;
  return ode_map_error(config, process, GaussianTarget{});
}

double accelerated_error_slope(const std::string& sampler, const std::string& kind, const std::string& grid,
                std::vector<int> ks = {16, 32, 64}) {
  const auto process = process_of(kind);
  std::vector<double> steps, errors;
  for (int k : ks) {
    steps.push_back(k);
    errors.push_back(accelerated_error(sampler, process, grid, k));
  }
  const double slope = log_log_slope(steps, errors);
  std::cout << "[measured] " << sampler << " on " << kind << " (" << grid
            << " grid): slope " << slope << " (pairwise " << pairwise_slopes(steps, errors)
            << ")\n";
  return slope;
}

TEST(AcceleratedTest, IsSecondOrderOnLogSnrGrids) {
  // Pairwise slopes -1.76, -1.82 (vp-linear), -1.74, -1.81 (vp-cosine) over K = 16..64 approach
  // -2 from above; the map is linear in x_T, so no seed moves them.
  for (const char* kind : {"vp-linear", "vp-cosine"})
    EXPECT_NEAR(accelerated_error_slope("li-accelerated-2", kind, "logsnr"), -2.0, 0.25) << kind;
}

TEST(AcceleratedTest, IsSecondOrderOnTheDiscreteSchedule) {
  // Pairwise slopes -1.69, -1.80 approach -2 from above.
  EXPECT_NEAR(accelerated_error_slope("li-accelerated-2", "ddpm", "ddpm"), -2.0, 0.3);
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
      const double ratio = accelerated_error("li-accelerated-2", process, grid, k) /
                           accelerated_error("ddim", process, grid, k);
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
    std::cout << "[measured] li-kth-" << k << " one-step local error: slope " << slope
              << " (pairwise " << pairwise_slopes(inverse_delta, errors) << ")\n";
    // Local order = global order + 1, the global order being the smaller of the refinement's
    // K and the Newton-Cotes quadrature's (K for even K, K + 1 for odd: Simpson at K = 3):
    // 2, 3..4, 4, so local slopes -3, -4..-5, -5. The step is linear in x, so no seed moves
    // the slope; 0.3 covers the distance from the asymptote (pairwise slopes -2.89, -2.93;
    // -4.79, -5.05; -4.69, -4.85).
    const double fastest = k == 2 ? 3.0 : 5.0, slowest = k == 3 ? 4.0 : fastest;
    EXPECT_TRUE(slope < -slowest + 0.3 && slope > -fastest - 0.3) << "K = " << k << ": " << slope;
  }
}

TEST(KthOrderTest, GlobalOrders) {
  // Orders 2, 3..4 (formal 3, Simpson's quadrature 4; measured -4.12), 4, as in the local test;
  // the windows cover the distance from the asymptote (pairwise slopes -1.95, -1.99; -4.11,
  // -4.13; -3.98, -4.00) and no seed moves them (the map is linear in x_T).
  EXPECT_NEAR(accelerated_error_slope("li-kth-2", "vp-linear", "logsnr", {64, 128, 256}), -2.0, 0.3);
  const double third = accelerated_error_slope("li-kth-3", "vp-linear", "logsnr");
  EXPECT_TRUE(third < -3.0 + 0.3 && third > -4.0 - 0.3) << third;
  EXPECT_NEAR(accelerated_error_slope("li-kth-4", "vp-linear", "logsnr"), -4.0, 0.3);
}

}  // namespace
}  // namespace diffuse::testing
