// Stochastic samplers checked by the first two moments of many samples. For Gaussian data
// N(m, s^2 I) every sampler step here is affine in x plus Gaussian noise, so the law of a
// sampler's output is Gaussian with a mean and variance a test computes by recursion
// (GaussianLaw): its difference from the exact marginal N(alpha m, alpha^2 s^2 + sigma^2) is the
// sampler's discretisation bias; sampling noise is judged in standard errors.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

namespace diffuse::testing {

// Per-coordinate law N(mean, variance) (isotropic, coordinates independent).
struct GaussianLaw {
  double mean = 0.0;
  double variance = 1.0;

  // x -> gain x + shift + noise_std z.
  void affine(double gain, double shift, double noise_std = 0.0) {
    mean = gain * mean + shift;
    variance = gain * gain * variance + noise_std * noise_std;
  }
};

// Every coordinate's sample mean and every entry of the sample covariance of `samples` [n, d]
// against N(mean, variance I), allowing `bias` (in mean and in variance) plus five standard
// errors: sqrt(v / n) for a mean, v sqrt(2 / (n - 1)) for a variance, v / sqrt(n) for a
// covariance between coordinates.
inline void expect_gaussian_moments(const torch::Tensor& samples, double mean, double variance,
                                    double mean_bias, double variance_bias,
                                    const std::string& what) {
  const auto x = samples.to(torch::kFloat64).reshape({samples.size(0), -1});
  const double n = static_cast<double>(x.size(0));
  const auto mu = x.mean(0);
  const auto centered = x - mu;
  const auto cov = centered.t().mm(centered) / (n - 1.0);
  const double se_mean = std::sqrt(variance / n), se_var = variance * std::sqrt(2.0 / (n - 1.0));
  const double se_cov = variance / std::sqrt(n);
  for (int64_t j = 0; j < x.size(1); ++j) {
    EXPECT_NEAR(mu[j].item<double>(), mean, mean_bias + 5.0 * se_mean) << what << ": mean " << j;
    for (int64_t k = 0; k < x.size(1); ++k) {
      const double expected = j == k ? variance : 0.0;
      const double allowed = j == k ? variance_bias + 5.0 * se_var : 5.0 * se_cov;
      EXPECT_NEAR(cov[j][k].item<double>(), expected, allowed)
          << what << ": covariance " << j << "," << k;
    }
  }
}

}  // namespace diffuse::testing
