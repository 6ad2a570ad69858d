// DDPM and DDIM (samplers/ddpm.h): hand-computed coefficients on a three-knot schedule, the
// theory form against Song et al.'s form, first order of DDIM on the Gaussian closed form, and
// the moments of many DDPM / general-eta samples against the exact marginal.
#include "samplers/ddpm.h"

#include "core/base/errors.h"
#include "samplers/generate.h"
#include "tests/gaussian_flow.h"
#include "tests/sampler_checks.h"

#include <gtest/gtest.h>

namespace diffuse::testing {
namespace {

// ddpm with N = 3 and betas 0.1, 0.2, 0.3: abar = 0.9, 0.72, 0.504 at t = 1/3, 2/3, 1.
ProcessPtr three_knots() {
  ProcessConfig config;
  config.kind = "ddpm";
  config.num_steps = 3;
  config.beta_min = 0.1;
  config.beta_max = 0.3;
  return make_process(config);
}

TEST(SamplerDdpmTest, TheoryCoefficientsByHandOnThreeKnots) {
  const auto p = three_knots();
  // Step 1 -> 2/3: alpha_t = 0.504 / 0.72 = 0.7; step 2/3 -> 1/3: alpha_t = 0.72 / 0.9 = 0.8.
  struct Case {
    double t, s, alpha, abar_t;
  };
  for (const Case& c : {Case{1.0, 2.0 / 3.0, 0.7, 0.504}, Case{2.0 / 3.0, 1.0 / 3.0, 0.8, 0.72}}) {
    const auto ddpm = ddpm_step_coefficients(*p, c.t, c.s);
    EXPECT_NEAR(ddpm.inv_sqrt_alpha, 1.0 / std::sqrt(c.alpha), 1e-12);
    EXPECT_NEAR(ddpm.eta, 1.0 - c.alpha, 1e-12);
    EXPECT_NEAR(ddpm.sigma * ddpm.sigma,
                (1.0 - c.alpha) * (c.alpha - c.abar_t) / (1.0 - c.abar_t), 1e-12);
    const auto ddim = ddim_step_coefficients(*p, c.t, c.s, 0.0);
    EXPECT_NEAR(ddim.inv_sqrt_alpha, 1.0 / std::sqrt(c.alpha), 1e-12);
    EXPECT_NEAR(ddim.eta,
                (1.0 - c.alpha) / (1.0 + std::sqrt((c.alpha - c.abar_t) / (1.0 - c.abar_t))),
                1e-12);
    EXPECT_EQ(ddim.sigma, 0.0);
    // The general-eta form ends at DDPM's coefficients.
    const auto eta1 = ddim_step_coefficients(*p, c.t, c.s, 1.0);
    EXPECT_NEAR(eta1.eta, ddpm.eta, 1e-14);
    EXPECT_NEAR(eta1.sigma, ddpm.sigma, 1e-14);
  }
  // 1.5^2 (1 - alpha_t) = 0.675 > 1 - abar_t = 0.496: no such step exists.
  EXPECT_THROW(ddim_step_coefficients(*p, 1.0, 2.0 / 3.0, 1.5), InputError);
}

TEST(SamplerDdpmTest, FirstStepByHand) {
  const auto p = three_knots();
  const GaussianTarget g;
  const auto denoiser = gaussian_denoiser(p, g);
  NoiseSource drawn(9, 0);
  const auto x = drawn.next({5, 2}, torch::kFloat64);
  const auto z = drawn.next({5, 2}, torch::kFloat64);  // draw 1: the first step's noise

  // Step t = 1 -> s = 2/3 by hand: abar_t = 0.504, abar_s = 0.72, alpha_t = 0.7; the exact score
  // of N(sqrt(abar_t) m, abar_t s^2 + 1 - abar_t).
  const double abar_t = 0.504, abar_s = 0.72, a = 0.7;
  const double r2 = abar_t * g.variance + 1.0 - abar_t;
  const auto score = -(x - std::sqrt(abar_t) * g.mean) / r2;
  const double ddpm_sigma = std::sqrt(0.3 * (a - abar_t) / (1.0 - abar_t));
  const double ddim_eta = 0.3 / (1.0 + std::sqrt((a - abar_t) / (1.0 - abar_t)));
  const auto ddpm = (x + 0.3 * score + ddpm_sigma * z) / std::sqrt(a);
  const auto ddim = (x + ddim_eta * score) / std::sqrt(a);
  // Song et al.: x0 by Tweedie, eps = -sigma_t score, c(eta = 1) from eq. 16.
  const auto x0 = (x + (1.0 - abar_t) * score) / std::sqrt(abar_t);
  const auto eps = -std::sqrt(1.0 - abar_t) * score;
  const double c = std::sqrt((1.0 - abar_s) / (1.0 - abar_t)) * std::sqrt(1.0 - abar_t / abar_s);
  const auto song1 = std::sqrt(abar_s) * x0 + std::sqrt(1.0 - abar_s - c * c) * eps + c * z;

  const auto first_step = [&](const std::string& name, double eta) {
    SamplerConfig config;
    config.name = name;
    config.times = {1.0, 2.0 / 3.0};
    config.eta = eta;
    NoiseSource noise(9, 0);
    noise.next({5, 2}, torch::kFloat64);  // draw 0 is x_T
    return run_sampler(config, denoiser, x, noise);
  };
  const auto close = [](const torch::Tensor& a, const torch::Tensor& b) {
    return torch::allclose(a, b, 1e-12, 1e-12);
  };
  EXPECT_TRUE(close(first_step("ddpm", 1.0), ddpm));
  EXPECT_TRUE(close(first_step("ddim", 1.0), ddim));
  EXPECT_TRUE(close(first_step("ddim-eta", 0.0), ddim));
  EXPECT_TRUE(close(first_step("ddim-eta", 1.0), ddpm));
  EXPECT_TRUE(close(first_step("ddim-song", 1.0), ddim));
  EXPECT_TRUE(close(first_step("ddim-song-eta", 1.0), song1));
  EXPECT_TRUE(close(song1, ddpm));  // Song's eta = 1 is Ho et al.'s step
  // The two controls outside the adaptive family: Ho et al.'s sigma^2 = beta_t = 0.3 (theory
  // form sigma_t^2 = alpha_t beta_t), and the score held over the step (eta_t = 1 - sqrt(alpha_t)).
  EXPECT_TRUE(close(first_step("ddpm-beta", 1.0),
                    (x + 0.3 * score + std::sqrt(a * 0.3) * z) / std::sqrt(a)));
  EXPECT_TRUE(close(first_step("ddim-frozen-score", 1.0),
                    (x + (1.0 - std::sqrt(a)) * score) / std::sqrt(a)));
}

// The theory-form DDIM and Song's eta = 0 update are the same map (ddpm.h), and so are the two
// general-eta forms for the same noise: equal to rounding over whole runs.
TEST(SamplerDdpmTest, TheoryFormEqualsSongForm) {
  struct Case {
    std::string process, grid;
    int steps;
  };
  for (const Case& c : {Case{"vp-linear", "logsnr", 10}, Case{"vp-cosine", "uniform", 25},
                       Case{"ddpm", "ddpm", 50}, Case{"ddpm-theory", "ddpm", 300}}) {
    const auto p = process_of(c.process);
    const auto denoiser = gaussian_denoiser(p, GaussianTarget{});
    for (const double eta : {0.0, 0.5, 1.0}) {
      const auto run = [&](const std::string& name) {
        SamplerConfig config;
        config.name = name;
        config.grid = c.grid;
        config.steps = c.steps;
        config.eta = eta;
        NoiseSource noise(4, 0);
        const auto x_T = noise.next({64, 2}, torch::kFloat64);
        return run_sampler(config, denoiser, x_T, noise);
      };
      const auto theory = run(eta == 0.0 ? "ddim" : "ddim-eta");
      const auto song = run(eta == 0.0 ? "ddim-song" : "ddim-song-eta");
      EXPECT_LT((theory - song).abs().max().item<double>(), 1e-10) << c.process << " " << eta;
    }
  }
}

double ddim_slope(const std::string& name, const std::string& kind, const std::string& grid,
                  const std::vector<int>& ks) {
  const auto p = process_of(kind);
  std::vector<double> steps, errors;
  for (const int k : ks) {
    SamplerConfig config;
    config.name = name;
    config.grid = grid;
    config.steps = k;
    steps.push_back(k);
    errors.push_back(ode_map_error(config, p, GaussianTarget{}));
  }
  return log_log_slope(steps, errors);
}

// DDIM is a first-order discretisation of the PF-ODE: slope -1 on logSNR grids (0.25 covers
// pre-asymptotics), and on the knots of `ddpm` (N = 1000, K of them evenly spaced).
TEST(SamplerDdpmTest, DdimIsFirstOrder) {
  for (const char* name : {"ddim", "ddim-song"}) {
    for (const char* kind : {"vp-linear", "vp-cosine", "vp-ou"})
      EXPECT_NEAR(ddim_slope(name, kind, "logsnr", {16, 32, 64}), -1.0, 0.25) << name << kind;
    EXPECT_NEAR(ddim_slope(name, "ddpm", "ddpm", {100, 200, 400}), -1.0, 0.25) << name;
  }
}

// The exact law of the theory-form chain on Gaussian data from this test's own coefficients
// (Song et al.'s eta_t = sigma_t^2 - sqrt(alpha_t (sigma_t^2 sigma_s^2 - sigma_t^2 S^2)), not the
// rationalised form of the code): Y -> (Y (1 - eta_t / r^2) + eta_t a_t m / r^2 + S z) / sqrt(a).
GaussianLaw theory_chain_law(const ForwardProcess& p, const std::vector<double>& times,
                             const GaussianTarget& g, double eta) {
  GaussianLaw law;  // x_T ~ N(0, I)
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double abar_t = std::pow(p.alpha(times[i]), 2);
    const double abar_s = std::pow(p.alpha(times[i + 1]), 2);
    const double a = abar_t / abar_s, v_t = 1.0 - abar_t, v_s = 1.0 - abar_s;
    const double s2 = eta * eta * (1.0 - a) * (a - abar_t) / v_t;
    const double eta_t = v_t - std::sqrt(a * (v_t * v_s - v_t * s2 / a));
    const double r2 = abar_t * g.variance + v_t;
    law.affine((1.0 - eta_t / r2) / std::sqrt(a),
               eta_t * std::sqrt(abar_t) * g.mean / (r2 * std::sqrt(a)), std::sqrt(s2 / a));
  }
  return law;
}

void expect_marginal(const std::string& name, const std::string& kind, const std::string& grid,
                     int steps, double eta, double max_bias, std::int64_t n = 20000) {
  const auto p = process_of(kind);
  const GaussianTarget g;
  SamplerConfig config;
  config.name = name;
  config.grid = grid;
  config.steps = steps;
  config.eta = eta;
  GenerateRequest request;
  request.num_samples = n;
  request.batch_size = n;
  request.seed = 17;
  const auto samples =
      generate(config, gaussian_denoiser(p, g), {g.dim}, torch::kFloat64, request).samples;
  const auto times = sampler_grid(config, *p);
  const double t = times.back(), alpha = p->alpha(t), sigma = p->sigma(t);
  const double mean = alpha * g.mean, variance = alpha * alpha * g.variance + sigma * sigma;
  const auto law = theory_chain_law(*p, times, g, eta);
  const double mean_bias = std::abs(law.mean - mean);
  const double variance_bias = std::abs(law.variance - variance);
  EXPECT_LT(mean_bias, max_bias) << name << " on " << kind;
  EXPECT_LT(variance_bias, max_bias) << name << " on " << kind;
  expect_gaussian_moments(samples, mean, variance, mean_bias, variance_bias, name + " " + kind);
  // And the samples follow the chain's own law within five standard errors.
  expect_gaussian_moments(samples, law.mean, law.variance, 0.0, 0.0, name + " law " + kind);
}

// 10000-20000 samples: mean and covariance within the chain's exact discretisation bias
// (asserted below the stated bound) plus five standard errors of the exact marginal at t_end.
// Measured variance biases (variance ~0.25; first order, ~1/K): 3.7e-3 on all 999 knots of
// ddpm-theory, 1.4e-2 on 250 knots of ddpm, 1.2e-2 with 200 logSNR steps of vp-linear.
TEST(SamplerDdpmTest, DdpmHasTheExactMarginal) {
  expect_marginal("ddpm", "ddpm-theory", "ddpm", 999, 1.0, 5e-3, 10000);  // every knot
  expect_marginal("ddpm", "ddpm", "ddpm", 250, 1.0, 2e-2);
  expect_marginal("ddpm", "vp-linear", "logsnr", 200, 1.0, 2e-2);
}

TEST(SamplerDdpmTest, GeneralEtaHasTheExactMarginal) {
  expect_marginal("ddim-eta", "vp-linear", "logsnr", 200, 0.5, 1e-2);
  expect_marginal("ddim-song-eta", "vp-cosine", "logsnr", 200, 0.3, 1e-2);
}

}  // namespace
}  // namespace diffuse::testing
