// Closed forms for Gaussian data N(m, s^2 I) that sampler tests measure against. The marginal at t
// is N(alpha m, r_t^2 I) with r_t^2 = alpha^2 s^2 + sigma^2, and the probability-flow ODE map is
// affine: x_t = alpha_t m + (r_t / r_T) (x_T - alpha_T m).
#pragma once

#include "core/math/mixture.h"
#include "core/process/process.h"
#include "models/analytic.h"
#include "models/denoiser.h"
#include "samplers/registry.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace diffuse::testing {

struct GaussianTarget {
  double mean = 0.5;      // every coordinate of m
  double variance = 0.25; // s^2
  int dim = 2;
};

inline double marginal_std(const ForwardProcess& p, const GaussianTarget& g, double t) {
  const double a = p.alpha(t), s = p.sigma(t);
  return std::sqrt(a * a * g.variance + s * s);
}

// The exact PF-ODE map of x (at t_from) to t_to.
inline torch::Tensor exact_flow(const ForwardProcess& p, const GaussianTarget& g,
                                const torch::Tensor& x, double t_from, double t_to) {
  const double ratio = marginal_std(p, g, t_to) / marginal_std(p, g, t_from);
  return p.alpha(t_to) * g.mean + ratio * (x - p.alpha(t_from) * g.mean);
}

// The exact score of the Gaussian as a Denoiser (through the analytic mixture oracle).
inline Denoiser gaussian_denoiser(const ProcessPtr& process, const GaussianTarget& g,
                                  torch::Dtype dtype = torch::kFloat64) {
  GaussianMixture mixture({GaussianComponent::isotropic(
      1.0, torch::full({g.dim}, g.mean, torch::kFloat64), g.variance)});
  auto model = std::make_shared<AnalyticMixtureScore>(
      mixture.to(torch::TensorOptions().dtype(dtype)), process);
  return Denoiser(model, process);
}

// Least-squares slope of log(errors) against log(steps).
inline double log_log_slope(const std::vector<double>& steps, const std::vector<double>& errors) {
  const std::size_t n = steps.size();
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) mx += std::log(steps[i]) / n, my += std::log(errors[i]) / n;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = std::log(steps[i]) - mx;
    sxy += dx * (std::log(errors[i]) - my);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

// The slopes between consecutive points, "a, b, ..." (how far the fit is from the asymptote).
inline std::string pairwise_slopes(const std::vector<double>& steps,
                                   const std::vector<double>& errors) {
  std::string text;
  for (std::size_t i = 0; i + 1 < steps.size(); ++i)
    text += (i ? ", " : "") + std::to_string(std::log(errors[i + 1] / errors[i]) /
                                             std::log(steps[i + 1] / steps[i]));
  return text;
}

// RMS distance between a deterministic sampler's output and the exact ODE map from the same x_T.
inline double ode_map_error(const SamplerConfig& config, const ProcessPtr& process,
                            const GaussianTarget& g, std::int64_t n = 256,
                            std::uint64_t seed = 1) {
  const auto denoiser = gaussian_denoiser(process, g);
  NoiseSource noise(seed, 0);
  const auto x_T = noise.next({n, g.dim}, torch::kFloat64) * process->prior_std();
  const auto times = sampler_grid(config, *process);
  const auto x = run_sampler(config, denoiser, x_T, noise);
  const auto exact = exact_flow(*process, g, x_T, times.front(), times.back());
  return (x - exact).pow(2).mean().sqrt().item<double>();
}

}  // namespace diffuse::testing
