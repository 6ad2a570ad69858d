// Reverse-SDE Euler-Maruyama and Heun with EDM's churn (samplers/sde.h): churn 0 is `heun`
// exactly; many samples have the exact marginal up to each chain's own discretisation bias,
// computed here by propagating the Gaussian law through the (affine) steps.
#include "samplers/sde.h"

#include "core/base/errors.h"
#include "samplers/generate.h"
#include "tests/gaussian_flow.h"
#include "tests/sampler_checks.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace diffuse::testing {
namespace {

torch::Tensor run(const SamplerConfig& config, const ProcessPtr& p, std::uint64_t seed = 4) {
  const auto denoiser = gaussian_denoiser(p, GaussianTarget{});
  NoiseSource noise(seed, 0);
  const auto x_T = noise.next({64, 2}, torch::kFloat64) * p->prior_std();
  return run_sampler(config, denoiser, x_T, noise);
}

TEST(SamplerSdeTest, HeunChurnWithoutChurnIsHeun) {
  struct Case {
    std::string process, grid;
  };
  for (const Case& c : {Case{"vp-linear", "logsnr"}, Case{"vp-cosine", "karras"},
                       Case{"ddpm", "ddpm"}, Case{"ve", "logsnr"}, Case{"edm", "karras"}}) {
    const auto p = process_of(c.process);
    SamplerConfig config;
    config.grid = c.grid;
    config.steps = 12;
    config.name = "heun";
    const auto heun = run(config, p);
    config.name = "heun-churn";
    EXPECT_TRUE(torch::equal(run(config, p), heun)) << c.process;
    // Churn asked for, but outside [S_tmin, S_tmax] at every grid time.
    config.s_churn = 30.0;
    config.s_tmin = 1e9;
    EXPECT_TRUE(torch::equal(run(config, p), heun)) << c.process;
    config.s_tmin = 0.0;
    EXPECT_FALSE(torch::equal(run(config, p), heun)) << c.process;
  }
}

TEST(SamplerSdeTest, EulerMaruyamaRejectsAnInfiniteDrift) {
  // rf up to t = 1: alpha = 0, f = -1 / (1 - t) and g^2 are infinite there.
  ProcessConfig rf;
  rf.kind = "rf";
  rf.t_max = 1.0;
  const auto p = make_process(rf);
  SamplerConfig config;
  config.name = "euler-maruyama";
  config.grid = "uniform";
  EXPECT_THROW(run(config, p), InputError);
}

// The Gaussian law of Euler-Maruyama's output, f and g^2 at t_i, score -(x - a m) / r^2.
GaussianLaw euler_maruyama_law(const ForwardProcess& p, const std::vector<double>& times,
                               const GaussianTarget& g) {
  GaussianLaw law{0.0, p.prior_std() * p.prior_std()};
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], dt = times[i + 1] - t, a = p.alpha(t);
    const double f = p.f(t), g2 = p.g2(t), r2 = a * a * g.variance + p.sigma(t) * p.sigma(t);
    law.affine(1.0 + dt * (f + g2 / r2), -dt * g2 * a * g.mean / r2, std::sqrt(g2 * std::abs(dt)));
  }
  return law;
}

// The Gaussian law of heun-churn's output: the churn (scaled variable, see sde.h), then Heun's
// step with the affine velocity u(x, t) = P x + Q of Gaussian data.
GaussianLaw heun_churn_law(const ForwardProcess& p, const std::vector<double>& times,
                           const GaussianTarget& g, const SamplerConfig& c) {
  const auto velocity = [&](double t) {
    const double a = p.alpha(t), sigma = p.sigma(t), r2 = a * a * g.variance + sigma * sigma;
    const double da = p.dalpha_dt(t), ds = p.dsigma_dt(t), k = a * g.variance / r2;
    // x0_hat = k x + (1 - k a) m, eps_hat = (x - a x0_hat) / sigma.
    const double p_gain = da * k + ds * (1.0 - a * k) / sigma;
    const double q_shift = da * (1.0 - k * a) * g.mean - ds * a * (1.0 - k * a) * g.mean / sigma;
    return std::make_pair(p_gain, q_shift);
  };
  GaussianLaw law{0.0, p.prior_std() * p.prior_std()};
  const double steps = static_cast<double>(times.size() - 1);
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    double t_hat = times[i];
    const double s = std::exp(-p.lambda(t_hat));
    if (s >= c.s_tmin && s <= c.s_tmax.value_or(1e300) && c.s_churn > 0.0) {
      const double gamma = std::min(c.s_churn / steps, std::sqrt(2.0) - 1.0);
      const double s_hat = s * (1.0 + gamma);
      t_hat = p.t_of_lambda(-std::log(s_hat));
      const double a_hat = p.alpha(t_hat);
      law.affine(a_hat / p.alpha(times[i]), 0.0,
                 a_hat * std::sqrt(s_hat * s_hat - s * s) * c.s_noise);
    }
    const double h = times[i + 1] - t_hat;
    const auto [p1, q1] = velocity(t_hat);
    const auto [p2, q2] = velocity(times[i + 1]);
    law.affine(1.0 + 0.5 * h * (p1 + p2 * (1.0 + h * p1)), 0.5 * h * (q1 + p2 * h * q1 + q2));
  }
  return law;
}

void expect_marginal(const SamplerConfig& config, const std::string& kind, double max_bias) {
  const auto p = process_of(kind);
  const GaussianTarget g;
  GenerateRequest request;
  request.num_samples = 20000;
  request.batch_size = 20000;
  request.seed = 23;
  const auto samples =
      generate(config, gaussian_denoiser(p, g), {g.dim}, torch::kFloat64, request).samples;
  const auto times = sampler_grid(config, *p);
  const double t = times.back(), alpha = p->alpha(t), sigma = p->sigma(t);
  const double mean = alpha * g.mean, variance = alpha * alpha * g.variance + sigma * sigma;
  const auto law = config.name == "heun-churn" ? heun_churn_law(*p, times, g, config)
                                               : euler_maruyama_law(*p, times, g);
  const double mean_bias = std::abs(law.mean - mean);
  const double variance_bias = std::abs(law.variance - variance);
  const std::string what = config.name + " on " + kind;
  EXPECT_LT(mean_bias, max_bias) << what;
  EXPECT_LT(variance_bias, max_bias) << what;
  expect_gaussian_moments(samples, mean, variance, mean_bias, variance_bias, what);
  // And the samples follow the chain's own law within five standard errors.
  expect_gaussian_moments(samples, law.mean, law.variance, 0.0, 0.0, what + " (law)");
}

// 20000 samples: mean and covariance within the chain's exact discretisation bias (asserted
// below the stated bound) plus five standard errors of the exact marginal at t_end.
TEST(SamplerSdeTest, EulerMaruyamaHasTheExactMarginal) {
  SamplerConfig config;
  config.name = "euler-maruyama";
  config.steps = 500;
  config.grid = "logsnr";
  expect_marginal(config, "vp-linear", 2e-2);
  expect_marginal(config, "ve-geometric", 2e-2);
  config.grid = "karras";
  expect_marginal(config, "edm", 2e-2);
}

TEST(SamplerSdeTest, HeunChurnHasTheExactMarginal) {
  SamplerConfig config;
  config.name = "heun-churn";
  config.steps = 64;
  config.grid = "karras";
  config.s_churn = 40.0;  // EDM's ImageNet setting with S_noise = 1
  config.s_tmin = 0.05;
  config.s_tmax = 50.0;
  expect_marginal(config, "edm", 2e-2);
  config.grid = "logsnr";
  config.s_tmax.reset();
  expect_marginal(config, "vp-linear", 2e-2);
}

}  // namespace
}  // namespace diffuse::testing
