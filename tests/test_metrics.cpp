// Metrics against a known mixture: noise levels of sliced W2 and MMD for two independent samples,
// monotone growth under a mean shift, NLL of exact samples against entropies computed here, and
// mode coverage.
#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/math/mixture.h"
#include "core/metrics/metrics.h"
#include "seeded.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

namespace diffuse {
namespace {

using testing::kF64;
using testing::seeded;

const double kLog2Pi = std::log(2.0 * M_PI);


// Three well-separated 2-D Gaussians, means shifted by `shift` along the first axis.
GaussianMixture three_modes(double shift) {
  const auto offset = torch::tensor({shift, 0.0}, kF64);
  return GaussianMixture(
      {GaussianComponent::isotropic(0.5, torch::tensor({-3.0, 0.0}, kF64) + offset, 0.25),
       GaussianComponent::diagonal(0.3, torch::tensor({3.0, 1.0}, kF64) + offset,
                                   torch::tensor({0.5, 0.1}, kF64)),
       GaussianComponent::dense(0.2, torch::tensor({0.0, 3.0}, kF64) + offset,
                                torch::tensor({{0.4, 0.2}, {0.2, 0.3}}, kF64))});
}

TEST(MetricsTest, SameMixtureIsAtNoiseLevelAndShiftGrowsMonotonically) {
  const int64_t n = 10000;
  const auto reference = three_modes(0.0).sample(n, seeded(1)).x;
  double previous_w2 = -1.0, previous_mmd = -1.0, noise_w2 = 0.0, noise_mmd = 0.0;
  double w2_at_quarter = 0.0, mmd_at_quarter = 0.0;
  for (double shift : {0.0, 0.25, 0.5, 1.0}) {
    const auto x = three_modes(shift).sample(n, seeded(2)).x;
    const double w2 = sliced_w2(x, reference, 256, seeded(3));
    const auto mmd = mmd_rbf(x, reference);  // the first 4096 points of each
    std::cout << "[ metrics ] n = " << n << ", shift " << shift << ": sliced W2 " << w2
              << ", MMD^2 " << mmd.mmd2 << " (h = " << mmd.bandwidth << ")\n";
    EXPECT_GT(w2, previous_w2) << "shift " << shift;
    EXPECT_GT(mmd.mmd2, previous_mmd) << "shift " << shift;
    previous_w2 = w2;
    previous_mmd = mmd.mmd2;
    if (shift == 0.0) {
      noise_w2 = w2;
      noise_mmd = mmd.mmd2;
    } else if (shift == 0.25) {
      w2_at_quarter = w2;
      mmd_at_quarter = mmd.mmd2;
    }
  }
  // At noise level: below half of what the smallest shift (0.25) gives. Neither is tiny at
  // n = 10,000: the sliced W2 of a multi-modal mixture carries mode-weight fluctuations of order
  // n^{-1/2} across the gaps between modes, and the unbiased MMD^2 on 4096 points fluctuates
  // by about 1e-4 around 0.
  EXPECT_LT(noise_w2, 0.5 * w2_at_quarter);
  EXPECT_LT(std::abs(noise_mmd), 0.5 * mmd_at_quarter);
}

TEST(MetricsTest, SlicedW2OfOneDimensionalShiftIsTheShift) {
  // In 1-D every direction is +-1 and W2 between x and x + c is exactly c.
  const auto x = torch::randn({500, 1}, seeded(4), kF64);
  EXPECT_NEAR(sliced_w2(x, x + 0.7, 8, seeded(5)), 0.7, 1e-12);
  // Unequal sizes of the same distribution stay at the noise level.
  const auto a = three_modes(0.0).sample(4000, seeded(6)).x;
  const auto b = three_modes(0.0).sample(7000, seeded(7)).x;
  EXPECT_LT(sliced_w2(a, b, 128, seeded(8)), 0.08);
  EXPECT_GT(sliced_w2(a, b + 0.5, 128, seeded(8)), 0.25);
}

// log p for the three-mode mixture written out with dense linear algebra (independent of the
// library's evaluation).
torch::Tensor reference_log_prob(const GaussianMixture& mixture, const torch::Tensor& x) {
  std::vector<torch::Tensor> terms;
  for (int64_t k = 0; k < mixture.num_components(); ++k) {
    const auto& c = mixture.components()[k];
    const auto cov = mixture.covariance(k);
    const auto diff = (x - c.mean).t();
    const auto quad = (diff * torch::linalg_solve(cov, diff, true)).sum(0);
    const auto logdet = std::get<1>(torch::linalg_slogdet(cov));
    terms.push_back(std::log(c.weight) - 0.5 * (quad + logdet + x.size(1) * kLog2Pi));
  }
  return torch::logsumexp(torch::stack(terms, 1), 1);
}

TEST(MetricsTest, NllOfExactSamplesMatchesEntropy) {
  // Single Gaussian: entropy per dimension is (D/2 log(2 pi e) + 1/2 log det S) / D exactly.
  const auto cov = torch::tensor({{1.0, 0.3, 0.0}, {0.3, 0.5, 0.1}, {0.0, 0.1, 0.2}}, kF64);
  GaussianMixture gaussian({GaussianComponent::dense(1.0, torch::zeros({3}, kF64), cov)});
  const int64_t n = 100000;
  const double entropy =
      (1.5 * (kLog2Pi + 1.0) + 0.5 * std::get<1>(torch::linalg_slogdet(cov)).item<double>()) / 3.0;
  // -log p = const + chi^2_3 / 2 has standard deviation sqrt(3/2); per dimension / 3.
  const double se = std::sqrt(1.5) / 3.0 / std::sqrt(static_cast<double>(n));
  EXPECT_NEAR(mean_nll_per_dim(gaussian, gaussian.sample(n, seeded(9)).x), entropy, 5.0 * se);

  // Mixture: entropy by an independent Monte Carlo (own draws, own density) in the test.
  const auto mixture = three_modes(0.0);
  auto gen = seeded(10);
  const auto u = torch::rand({n}, gen, kF64);
  const auto cumulative = mixture.weights().cumsum(0);
  const auto labels = (u.unsqueeze(1) > cumulative.unsqueeze(0)).sum(1);
  auto draws = torch::empty({n, 2}, kF64);
  for (int64_t k = 0; k < 3; ++k) {
    const auto idx = (labels == k).nonzero().reshape({-1});
    const auto chol = torch::linalg_cholesky(mixture.covariance(k));
    const auto z = torch::randn({idx.numel(), 2}, gen, kF64);
    draws.index_copy_(0, idx, z.matmul(chol.t()) + mixture.components()[k].mean);
  }
  const auto nll = -reference_log_prob(mixture, draws) / 2.0;
  const double mc = nll.mean().item<double>();
  const double mc_se = nll.std().item<double>() / std::sqrt(static_cast<double>(n));
  const auto samples = mixture.sample(n, seeded(11)).x;
  const double library = mean_nll_per_dim(mixture, samples);
  EXPECT_NEAR(library, mc, 5.0 * std::sqrt(2.0) * mc_se);
  // The library's density agrees with the dense one pointwise, too.
  EXPECT_TRUE(torch::allclose(mixture.log_prob(draws.slice(0, 0, 100)),
                              reference_log_prob(mixture, draws.slice(0, 0, 100)), 1e-10, 1e-10));
}

TEST(MetricsTest, ModeCoverage) {
  const auto mixture = three_modes(0.0);
  const int64_t n = 20000;
  const auto [x, labels] = mixture.sample(n, seeded(12));
  const auto full = mode_coverage(mixture, x, 0.5);
  EXPECT_EQ(full.covered, 3);
  ASSERT_EQ(full.frequencies.size(), 3u);
  for (int k = 0; k < 3; ++k)
    EXPECT_NEAR(full.frequencies[k], full.weights[k],
                5.0 * std::sqrt(full.weights[k] * (1 - full.weights[k]) / n) + 0.01);
  EXPECT_LT(full.total_variation, 0.02);
  // Only the first mode's samples: one component covered, TV = 1 - w_0.
  const auto first = x.index_select(0, (labels == 0).nonzero().reshape({-1}));
  const auto one = mode_coverage(mixture, first, 0.5);
  EXPECT_EQ(one.covered, 1);
  EXPECT_GT(one.frequencies[0], 0.99);
  EXPECT_NEAR(one.total_variation, 0.5, 0.01);
}

TEST(MetricsTest, EvaluateReportsEverythingAndCountsNonFinite) {
  const auto mixture = three_modes(0.0);
  auto x = mixture.sample(2000, seeded(13)).x;
  x[5][1] = std::nan("");
  MetricsConfig config;
  config.num_projections = 64;
  const auto report = evaluate_against_mixture(mixture, x, config, seeded(14));
  EXPECT_EQ(report["count"].get<int64_t>(), 2000);
  EXPECT_EQ(report["non_finite"].get<int64_t>(), 1);
  EXPECT_EQ(report["reference_count"].get<int64_t>(), 1999);
  for (const char* key : {"nll_per_dim", "sliced_w2", "mmd2", "mmd_bandwidth"})
    EXPECT_TRUE(report[key].is_number()) << key;
  EXPECT_EQ(report["mode_coverage"]["covered"].get<int64_t>(), 3);
  EXPECT_LT(report["sliced_w2"].get<double>(), 0.15);
  EXPECT_THROW(evaluate_against_mixture(mixture, torch::zeros({10, 3}, kF64), config, seeded(1)),
               InputError);
}

TEST(MetricsTest, ConfigLoadsStrictly) {
  const auto config = config::load<MetricsConfig>(
      YAML::Load("{num_projections: 32, reference_size: 500, seed: 3}"), "metrics");
  EXPECT_EQ(config.num_projections, 32);
  EXPECT_EQ(config.reference_size.value(), 500);
  EXPECT_THROW(config::load<MetricsConfig>(YAML::Load("{projections: 3}"), "metrics"), InputError);
  EXPECT_THROW(config::load<MetricsConfig>(YAML::Load("{num_projections: 0}"), "metrics"),
               InputError);
}

}  // namespace
}  // namespace diffuse
