// Stochastic Runge-Kutta for the reverse SDE (samplers/srk.h) on Gaussian data N(m, s^2 I), where
// the drift is affine in x: every step is affine plus Gaussian noise, so the output law is
// Gaussian with a mean and variance computed here by recursion through the scheme (srk_law).
// Many samples must match that law (the implementation follows the scheme), and the law must
// approach the exact marginal N(alpha m, alpha^2 s^2 + sigma^2) at the end time with weak order 2.
#include "tests/gaussian_flow.h"
#include "tests/sampler_checks.h"

#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <utility>
#include <vector>

namespace diffuse::testing {
namespace {

ProcessPtr vp_linear() {
  ProcessConfig config;
  return make_process(config);
}

std::vector<double> srk_grid(const ForwardProcess& p, const std::string& kind, int steps) {
  TimeGridConfig grid;
  grid.kind = kind;
  grid.steps = steps;
  return make_time_grid(p, grid);
}

// The law of one coordinate after the scheme, starting from the exact marginal at times[0]. With
// score -(x - alpha m) / r^2 the drift is a(x, t) = A(t) x + B(t).
GaussianLaw srk_law(const ForwardProcess& p, const std::vector<double>& times,
                    const GaussianTarget& g) {
  const auto r2 = [&](double t) { return std::pow(marginal_std(p, g, t), 2.0); };
  const auto a_gain = [&](double t) { return -p.g2(t) / r2(t) - p.f(t); };
  const auto a_shift = [&](double t) { return p.g2(t) * p.alpha(t) * g.mean / r2(t); };
  GaussianLaw law{p.alpha(times.front()) * g.mean, r2(times.front())};
  const double root3 = std::sqrt(3.0);
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], s = times[i + 1], d = t - s, rd = std::sqrt(d);
    const double an = a_gain(t), bn = a_shift(t), ap = a_gain(s), bp = a_shift(s);
    const double b = std::sqrt(p.g2(t)), db = std::sqrt(p.g2(s)) - b;
    const double gain = 1.0 + 0.5 * d * (ap * (1.0 + d * an) + an);
    const double shift = 0.5 * d * (ap * d * bn + bp + bn);
    const double c1 = b * rd + 0.5 * ap * b * d * rd + 0.5 * db * rd;   // on U_1
    const double c2 = (0.5 * ap * b * d * rd - 0.5 * db * rd) / root3;  // on U_2
    law.affine(gain, shift, std::sqrt(c1 * c1 + c2 * c2));
  }
  return law;
}

// Weak error of the law at the end time: |mean error| + |variance error|.
double weak_error(const ForwardProcess& p, const std::vector<double>& times,
                  const GaussianTarget& g) {
  const auto law = srk_law(p, times, g);
  const double end = times.back();
  return std::abs(law.mean - p.alpha(end) * g.mean) +
         std::abs(law.variance - std::pow(marginal_std(p, g, end), 2.0));
}

torch::Tensor srk_draw(const ProcessPtr& process, const GaussianTarget& g, int steps,
                   std::int64_t n) {
  const auto denoiser = gaussian_denoiser(process, g);
  SamplerConfig config;
  config.name = "srk";
  config.steps = steps;
  const auto times = sampler_grid(config, *process);
  NoiseSource noise(21, 0);
  const auto x_T = process->alpha(times.front()) * g.mean +
                   marginal_std(*process, g, times.front()) *
                       noise.next({n, g.dim}, torch::kFloat64);
  return run_sampler(config, denoiser, x_T, noise);
}

TEST(SrkTest, SamplesFollowTheSchemesGaussianLaw) {
  const auto process = vp_linear();
  GaussianTarget g;
  g.dim = 8;
  for (int steps : {6, 16}) {
    const auto law = srk_law(*process, sampler_grid([&] {
      SamplerConfig c;
      c.steps = steps;
      return c;
    }(), *process), g);
    expect_gaussian_moments(srk_draw(process, g, steps, 4000), law.mean, law.variance, 0.0, 0.0,
                            "srk K = " + std::to_string(steps));
  }
}

TEST(SrkTest, MatchesTheExactMarginal) {
  const auto process = vp_linear();
  GaussianTarget g;
  g.dim = 8;
  const double end = process->t_min();
  const double mean = process->alpha(end) * g.mean;
  const double variance = std::pow(marginal_std(*process, g, end), 2.0);
  // Allowed bias: 2% of the variance (the discretisation error at K = 32 is far smaller).
  expect_gaussian_moments(srk_draw(process, g, 32, 4000), mean, variance, 0.02 * variance,
                          0.02 * variance, "srk K = 32 vs the exact marginal");
}

const std::vector<double> kStepCounts = {32, 64, 128};

// The log-log slope of error(K) over kStepCounts, and the errors.
std::pair<double, std::vector<double>> slope_in_steps(const std::function<double(int)>& error) {
  std::vector<double> errors;
  for (double k : kStepCounts) errors.push_back(error(static_cast<int>(k)));
  return {log_log_slope(kStepCounts, errors), errors};
}

TEST(SrkTest, WeakOrderTwoOfTheRecursion) {
  // The scheme's law (srk_law above, the recursion written from the paper) converges with weak
  // order 2 in both mean and variance.
  const auto process = vp_linear();
  const GaussianTarget g;
  for (const char* kind : {"logsnr", "uniform"}) {
    const auto [slope, errors] = slope_in_steps(
        [&](int k) { return weak_error(*process, srk_grid(*process, kind, k), g); });
    std::cout << "[measured] srk weak order on vp-linear (" << kind << "): slope " << slope
              << "\n";
    EXPECT_NEAR(slope, -2.0, 0.25) << kind;
  }
}

// The library's own sampler, without Monte Carlo: for Gaussian data every step is affine in x
// plus noise, so two runs with the same noise from x_T and x_T + 1 differ by the gain G_K of
// the whole map. The reverse SDE has the forward process's joint law, so the exact gain is
// dE[x_s | x_T] / dx_T = Cov(x_s, x_T) / V_T = (a_T / a_s) V_s / V_T (V_t = a_t^2 v + s_t^2);
// its error |G_K - G| is a weak error (the conditional mean) and falls with the scheme's order.
double library_gain_error(const ProcessPtr& process, const GaussianTarget& g,
                          const std::string& grid, int steps) {
  SamplerConfig config;
  config.name = "srk";
  config.steps = steps;
  config.grid = grid;
  const auto times = sampler_grid(config, *process);
  const auto denoiser = gaussian_denoiser(process, g);
  const auto run_from = [&](double start) {
    NoiseSource noise(21, 0);
    return run_sampler(config, denoiser, torch::full({1, g.dim}, start, torch::kFloat64), noise);
  };
  const double gain = (run_from(1.0) - run_from(0.0)).mean().item<double>();
  const double big_t = times.front(), s = times.back();
  const double exact = process->alpha(big_t) / process->alpha(s) *
                       std::pow(marginal_std(*process, g, s) / marginal_std(*process, g, big_t), 2);
  return std::abs(gain - exact) / exact;
}

TEST(SrkTest, TheLibrarysSamplerConvergesWithOrderTwo) {
  const auto process = vp_linear();
  const GaussianTarget g;
  for (const char* kind : {"logsnr", "uniform"}) {
    const auto [slope, errors] =
        slope_in_steps([&](int k) { return library_gain_error(process, g, kind, k); });
    std::cout << "[measured] srk (library) gain error on vp-linear (" << kind << "): "
              << errors.front() << " .. " << errors.back() << ", slope " << slope
              << " (pairwise " << pairwise_slopes(kStepCounts, errors) << ")\n";
    // No seed enters (the gain is deterministic), so the window is the fit's distance from the
    // asymptote: pairwise slopes -2.63, -2.22, -2.09 (logsnr) and -2.37, -2.14, -2.06 (uniform)
    // over K = 16..128 approach -2 from below; the fit over 32..128 is within 0.25 of it. Euler
    // drift (order 1) would give -1.
    EXPECT_NEAR(slope, -2.0, 0.25) << kind;
  }
}

}  // namespace
}  // namespace diffuse::testing
