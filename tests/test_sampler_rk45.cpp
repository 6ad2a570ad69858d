// Adaptive Dormand-Prince RK45 (samplers/rk45.h): the reference map x_T -> x_0. Against the
// exact Gaussian flow at tight tolerances, its error following the tolerance, the NFE it reports
// against the Denoiser's count, and its guards.
#include "samplers/rk45.h"

#include "core/base/errors.h"
#include "tests/gaussian_flow.h"
#include "tests/sampler_checks.h"

#include <gtest/gtest.h>

namespace diffuse::testing {
namespace {

struct Run {
  double error = 0.0;
  std::int64_t nfe = 0;
};

Run rk45_error(const ProcessPtr& p, double tolerance, const GaussianTarget& g = {}) {
  ToleranceOptions config;
  config.rtol = tolerance;
  config.atol = tolerance;
  const auto denoiser = gaussian_denoiser(p, g);
  NoiseSource noise(1, 0);
  const auto x_T = noise.next({256, g.dim}, torch::kFloat64) * p->prior_std();
  const auto result = rk45_flow(denoiser, x_T, p->t_max(), p->t_min(), config);
  EXPECT_EQ(result.nfe, denoiser.evaluations());
  const auto exact = exact_flow(*p, g, x_T, p->t_max(), p->t_min());
  return {(result.x - exact).pow(2).mean().sqrt().item<double>(), result.nfe};
}

TEST(SamplerRk45Test, MatchesTheExactFlowAtTightTolerances) {
  ProcessConfig rf;
  rf.kind = "rf";
  rf.t_max = 0.999;  // lambda is infinite at t = 1
  for (const auto& p : {process_of("vp-linear"), process_of("vp-cosine"),
                        process_of("vp-ou"), process_of("ddpm"), process_of("ve"),
                        process_of("ve-geometric"), process_of("edm"), make_process(rf)}) {
    const auto run = rk45_error(p, 1e-8);
    EXPECT_LT(run.error, 1e-6) << p->name() << " (NFE " << run.nfe << ")";
    EXPECT_LT(run.nfe, 2000) << p->name();
  }
}

TEST(SamplerRk45Test, ErrorFollowsTheTolerance) {
  const auto p = process_of("vp-linear");
  double previous_error = 1.0;
  std::int64_t previous_nfe = 0;
  for (const double tolerance : {1e-3, 1e-5, 1e-7, 1e-9}) {
    const auto run = rk45_error(p, tolerance);
    EXPECT_LT(run.error, 10.0 * tolerance) << tolerance;
    EXPECT_LT(run.error, previous_error) << tolerance;
    EXPECT_GT(run.nfe, previous_nfe) << tolerance;
    previous_error = run.error;
    previous_nfe = run.nfe;
  }
}

// On a mixture, where no closed form exists, Heun converges to the reference at its order.
TEST(SamplerRk45Test, AgreesWithFineHeunOnAMixture) {
  const auto p = process_of("vp-linear");
  const auto f64 = torch::kFloat64;
  GaussianMixture mixture(
      {GaussianComponent::isotropic(0.5, torch::tensor({-1.0, 0.0}, f64), 0.05),
       GaussianComponent::isotropic(0.5, torch::tensor({1.0, 0.5}, f64), 0.1)});
  const Denoiser denoiser(std::make_shared<AnalyticMixtureScore>(mixture, p), p);
  NoiseSource noise(2, 0);
  const auto x_T = noise.next({64, 2}, f64);
  SamplerConfig config;
  config.name = "rk45";
  config.rtol = config.atol = 1e-9;
  const auto reference = run_sampler(config, denoiser, x_T, noise);
  config.name = "heun";
  const auto heun_distance = [&](int steps) {
    config.steps = steps;
    return (run_sampler(config, denoiser, x_T, noise) - reference).abs().max().item<double>();
  };
  const double coarse = heun_distance(500), fine = heun_distance(1000);
  EXPECT_NEAR(fine / coarse, 0.25, 0.05);  // second order: halving h quarters the error
  EXPECT_LT(fine, 2e-5);
}

TEST(SamplerRk45Test, GuardsItsBudget) {
  const auto p = process_of("vp-linear");
  const auto denoiser = gaussian_denoiser(p, GaussianTarget{});
  const auto x_T = torch::randn({8, 2}, torch::kFloat64);
  ToleranceOptions config;
  config.rtol = config.atol = 1e-10;
  config.max_nfe = 30;
  EXPECT_THROW(rk45_flow(denoiser, x_T, 1.0, 1e-3, config), RuntimeFailure);
  EXPECT_LE(denoiser.evaluations(), 30);
  // Float32 cannot meet 1e-12: the run stops at its budget (or a step-size underflow).
  config.max_nfe = 2000;
  config.rtol = config.atol = 1e-12;
  const auto denoiser32 = gaussian_denoiser(p, GaussianTarget{}, torch::kFloat32);
  EXPECT_THROW(rk45_flow(denoiser32, x_T.to(torch::kFloat32), 1.0, 1e-3, config), RuntimeFailure);
  // An endpoint with infinite lambda (rf at t = 1) is an input error.
  EXPECT_THROW(rk45_flow(gaussian_denoiser(process_of("rf"), GaussianTarget{}), x_T, 1.0,
                         1e-3, config),
               InputError);
}

}  // namespace
}  // namespace diffuse::testing
