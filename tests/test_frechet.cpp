// Frechet distance: zero for identical sets, the closed forms for diagonal and for non-commuting
// 2x2 covariances, the sample estimate near the closed form, and growth with added noise.
#include "core/base/errors.h"
#include "core/metrics/frechet.h"
#include "seeded.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

namespace diffuse {
namespace {

using testing::kF64;
using testing::seeded;



TEST(FrechetTest, IdenticalSetsAreAtZero) {
  const auto x = torch::randn({500, 12}, seeded(1), kF64) * 3.0 + 1.0;
  EXPECT_NEAR(frechet_distance(x, x), 0.0, 1e-9);
  EXPECT_NEAR(frechet_distance(x, x.flip(0)), 0.0, 1e-9);  // order does not matter
}

TEST(FrechetTest, DiagonalCovariancesGiveTheClosedForm) {
  // Commuting covariances: FD = |mu_a - mu_b|^2 + sum_i (s_a,i - s_b,i)^2 (standard deviations).
  const auto mean_a = torch::tensor({0.0, 1.0, -2.0}, kF64);
  const auto mean_b = torch::tensor({1.0, 1.0, 0.5}, kF64);
  const auto std_a = torch::tensor({1.0, 2.0, 0.5}, kF64);
  const auto std_b = torch::tensor({3.0, 0.5, 0.5}, kF64);
  const double exact = 1.0 + 0.0 + 6.25 + 4.0 + 2.25 + 0.0;
  const double fd = frechet_distance(GaussianMoments{mean_a, torch::diag(std_a.square())},
                                     GaussianMoments{mean_b, torch::diag(std_b.square())});
  EXPECT_NEAR(fd, exact, 1e-10);
}

TEST(FrechetTest, NonCommutingTwoByTwoCovariancesGiveTheClosedForm) {
  // For 2x2 M with non-negative eigenvalues, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); with
  // M = S_a S_b: tr((S_a S_b)^{1/2}) = sqrt(tr(S_a S_b) + 2 sqrt(det S_a det S_b)).
  const auto s_a = torch::tensor({{2.0, 0.6}, {0.6, 1.0}}, kF64);
  const auto s_b = torch::tensor({{0.5, -0.3}, {-0.3, 1.5}}, kF64);
  const auto mean_a = torch::tensor({0.0, 0.0}, kF64);
  const auto mean_b = torch::tensor({0.3, -0.4}, kF64);
  const double det_a = 2.0 * 1.0 - 0.36, det_b = 0.5 * 1.5 - 0.09;
  const double tr_ab = s_a.matmul(s_b).trace().item<double>();
  const double exact = 0.25 + 3.0 + 2.0 - 2.0 * std::sqrt(tr_ab + 2.0 * std::sqrt(det_a * det_b));
  EXPECT_NEAR(frechet_distance(GaussianMoments{mean_a, s_a}, GaussianMoments{mean_b, s_b}), exact,
              1e-10);
  // Symmetric in its arguments.
  EXPECT_NEAR(frechet_distance(GaussianMoments{mean_b, s_b}, GaussianMoments{mean_a, s_a}), exact,
              1e-10);
}

TEST(FrechetTest, SampleMomentsApproachTheClosedForm) {
  const int64_t n = 40000;
  const auto x = torch::randn({n, 4}, seeded(2), kF64);              // N(0, I)
  const auto y = torch::randn({n, 4}, seeded(3), kF64) * 2.0 + 0.5;  // N(0.5, 4 I)
  const double exact = 4 * 0.25 + 4 * 1.0;
  EXPECT_NEAR(frechet_distance(x, y), exact, 0.1);
  const auto moments = feature_moments(y);
  EXPECT_NEAR(moments.mean.mean().item<double>(), 0.5, 0.02);
  EXPECT_NEAR(moments.covariance.diagonal().mean().item<double>(), 4.0, 0.05);
}

TEST(FrechetTest, GrowsMonotonicallyWithAddedNoise) {
  // x + s e with e ~ N(0, I) independent: in the limit FD = D (sqrt(1 + s^2) - 1)^2.
  const int64_t n = 20000, dim = 16;
  const auto x = torch::randn({n, dim}, seeded(4), kF64);
  const auto e = torch::randn({n, dim}, seeded(5), kF64);
  double previous = -1.0;
  for (double s : {0.0, 0.1, 0.3, 0.5}) {
    const double fd = frechet_distance(x, x + s * e);
    const double limit = dim * std::pow(std::sqrt(1.0 + s * s) - 1.0, 2);
    std::cout << "[ frechet ] noise " << s << ": " << fd << " (population " << limit << ")\n";
    EXPECT_GT(fd, previous) << "noise " << s;
    if (s >= 0.3) {
      EXPECT_NEAR(fd, limit, 0.2 * limit) << "noise " << s;
    }
    previous = fd;
  }
}

TEST(FrechetTest, RejectsMismatchedOrTooFewFeatures) {
  const auto x = torch::randn({10, 3}, seeded(6), kF64);
  EXPECT_THROW(frechet_distance(x, torch::randn({10, 4}, seeded(7), kF64)), InputError);
  EXPECT_THROW(frechet_distance(x.slice(0, 0, 1), x), InputError);
  auto bad = x.clone();
  bad[0][0] = NAN;
  EXPECT_THROW(frechet_distance(bad, x), InputError);
}

}  // namespace
}  // namespace diffuse
