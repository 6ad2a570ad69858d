// GaussianMixture: validation, exact log-density against a dense reference written here,
// the noised marginal, and exact sampling (refitting weights, means and variances).
#include "core/base/errors.h"
#include "core/math/mixture.h"
#include "seeded.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace diffuse {
namespace {

using testing::kF64;
using testing::seeded;



// log N(x; mean, cov) for rows of x, by a dense solve and slogdet (independent of the library).
torch::Tensor dense_log_normal(const torch::Tensor& x, const torch::Tensor& mean,
                               const torch::Tensor& cov) {
  const int64_t d = mean.size(0);
  const auto diff = (x - mean).t();
  const auto quad = (diff * torch::linalg_solve(cov, diff, true)).sum(0);
  const auto logdet = std::get<1>(torch::linalg_slogdet(cov));
  return -0.5 * (quad + logdet + d * std::log(2.0 * M_PI));
}

// A mixture of all four kinds in D dims with its dense covariances, built by the test.
struct Reference {
  std::vector<GaussianComponent> components;
  std::vector<double> weights;  // unnormalised
  std::vector<torch::Tensor> means, covariances;
};

Reference four_kinds(int64_t d, uint64_t seed) {
  auto gen = seeded(seed);
  Reference r;
  const auto eye = torch::eye(d, kF64);
  auto add = [&](GaussianComponent c, torch::Tensor cov) {
    r.weights.push_back(c.weight);
    r.means.push_back(c.mean);
    r.covariances.push_back(cov);
    r.components.push_back(std::move(c));
  };
  auto mean = [&] { return 2.0 * torch::randn({d}, gen, kF64); };
  add(GaussianComponent::isotropic(1.0, mean(), 0.3), 0.3 * eye);
  const auto var = 0.1 + torch::rand({d}, gen, kF64);
  add(GaussianComponent::diagonal(2.0, mean(), var), torch::diag(var));
  const auto b = torch::randn({d, d}, gen, kF64);
  const auto full = b.matmul(b.t()) / d + 0.05 * eye;
  add(GaussianComponent::dense(1.5, mean(), full), full);
  const auto a = torch::randn({d, 2}, gen, kF64);
  add(GaussianComponent::low_rank(0.5, mean(), a, 0.02), a.matmul(a.t()) + 0.02 * eye);
  return r;
}

torch::Tensor dense_log_prob(const Reference& r, const torch::Tensor& x, double alpha,
                             double sigma) {
  double total = 0.0;
  for (double w : r.weights) total += w;
  std::vector<torch::Tensor> terms;
  const auto eye = torch::eye(x.size(1), kF64);
  for (std::size_t k = 0; k < r.means.size(); ++k) {
    const auto cov = alpha * alpha * r.covariances[k] + sigma * sigma * eye;
    terms.push_back(std::log(r.weights[k] / total) + dense_log_normal(x, alpha * r.means[k], cov));
  }
  return torch::logsumexp(torch::stack(terms, 1), 1);
}

void expect_mixture_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
  }
}

TEST(MixtureTest, WeightsAreNormalised) {
  const auto r = four_kinds(3, 1);
  GaussianMixture mixture(r.components);
  EXPECT_EQ(mixture.dim(), 3);
  EXPECT_EQ(mixture.num_components(), 4);
  EXPECT_NEAR(mixture.weights().sum().item<double>(), 1.0, 1e-15);
  EXPECT_NEAR(mixture.weights()[1].item<double>(), 2.0 / 5.0, 1e-15);
}

TEST(MixtureTest, LogProbMatchesDenseReference) {
  for (int64_t d : {1, 3, 12}) {
    const auto r = four_kinds(d, 10 + d);
    GaussianMixture mixture(r.components);
    const auto x = 3.0 * torch::randn({64, d}, seeded(3), kF64);
    const auto expected = dense_log_prob(r, x, 1.0, 0.0);
    EXPECT_TRUE(torch::allclose(mixture.log_prob(x), expected, 1e-10, 1e-10)) << "D = " << d;
    for (int64_t k = 0; k < 4; ++k)
      EXPECT_TRUE(torch::allclose(mixture.covariance(k), r.covariances[k], 1e-12, 1e-12));
  }
}

TEST(MixtureTest, FactorInHighDimensionMatchesDense) {
  // D = 60, k = 5: the Woodbury/determinant-lemma path with many directions at the floor.
  auto gen = seeded(4);
  const int64_t d = 60;
  const auto a = torch::randn({d, 5}, gen, kF64);
  const auto mean = torch::randn({d}, gen, kF64);
  GaussianMixture mixture({GaussianComponent::low_rank(1.0, mean, a, 0.01)});
  const auto x = mean + torch::randn({32, d}, gen, kF64);
  const auto cov = a.matmul(a.t()) + 0.01 * torch::eye(d, kF64);
  EXPECT_TRUE(torch::allclose(mixture.log_prob(x), dense_log_normal(x, mean, cov), 1e-9, 1e-9));
}

TEST(MixtureTest, NoisedMarginalMatchesDense) {
  const auto r = four_kinds(4, 5);
  GaussianMixture mixture(r.components);
  const auto x = 2.0 * torch::randn({50, 4}, seeded(6), kF64);
  for (auto [alpha, sigma] : {std::pair{1.0, 0.1}, {0.7, 0.7}, {0.0, 2.0}, {1.0, 5.0}}) {
    const auto expected = dense_log_prob(r, x, alpha, sigma);
    const auto direct = mixture.evaluate(x, alpha, sigma).log_prob;
    EXPECT_TRUE(torch::allclose(direct, expected, 1e-10, 1e-10)) << alpha << " " << sigma;
    const auto noised = mixture.noised(alpha, sigma);
    EXPECT_TRUE(torch::allclose(noised.log_prob(x), expected, 1e-10, 1e-10));
    for (int64_t k = 0; k < 4; ++k) {
      const auto cov = alpha * alpha * r.covariances[k] + sigma * sigma * torch::eye(4, kF64);
      EXPECT_TRUE(torch::allclose(noised.covariance(k), cov, 1e-12, 1e-12));
      EXPECT_TRUE(torch::allclose(noised.components()[k].mean, alpha * r.means[k]));
    }
  }
}

TEST(MixtureTest, FactorWithFullRankEqualsDense) {
  auto gen = seeded(7);
  const auto a = torch::randn({3, 4}, gen, kF64);  // k > D
  const auto mean = torch::randn({3}, gen, kF64);
  GaussianMixture factor({GaussianComponent::low_rank(1.0, mean, a, 0.0)});
  GaussianMixture dense({GaussianComponent::dense(1.0, mean, a.matmul(a.t()))});
  const auto x = torch::randn({20, 3}, gen, kF64);
  EXPECT_TRUE(torch::allclose(factor.log_prob(x), dense.log_prob(x), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(factor.score(x), dense.score(x), 1e-9, 1e-9));
}

TEST(MixtureTest, InvalidComponentsNameTheirIndex) {
  const auto m = torch::zeros({2}, kF64);
  const auto ok = GaussianComponent::isotropic(1.0, m, 1.0);
  auto asym = torch::tensor({{1.0, 0.5}, {0.2, 1.0}}, kF64);
  expect_mixture_error(
      [&] {
        GaussianMixture({ok, GaussianComponent::dense(1.0, m, asym)});
      },
      {"component 1", "symmetric"});
  auto indefinite = torch::tensor({{1.0, 0.0}, {0.0, -0.1}}, kF64);
  expect_mixture_error(
      [&] {
        GaussianMixture({ok, GaussianComponent::dense(1.0, m, indefinite)});
      },
      {"component 1", "positive semi-definite"});
  expect_mixture_error(
      [&] {
        GaussianMixture({ok, ok, GaussianComponent::isotropic(1.0, torch::zeros({3}), 1)});
      },
      {"component 2", "mean"});
  expect_mixture_error(
      [&] {
        GaussianMixture({GaussianComponent::diagonal(1.0, m, torch::tensor({1.0, -1.0}))});
      },
      {"component 0", "diag"});
  expect_mixture_error(
      [&] {
        GaussianMixture({ok, GaussianComponent::low_rank(1.0, m, torch::ones({3, 1}), 0)});
      },
      {"component 1", "factor"});
  expect_mixture_error(
      [&] {
        GaussianMixture({ok, GaussianComponent::isotropic(0.0, m, 1.0)});
      },
      {"component 1", "weight"});
  expect_mixture_error(
      [&] {
        GaussianMixture({ok, GaussianComponent::low_rank(1.0, m, torch::ones({2, 1}), -1)});
      },
      {"component 1", "noise"});
}

TEST(MixtureTest, SingularCovarianceHasNoCleanDensity) {
  const auto a = torch::tensor({{1.0}, {0.0}}, kF64);
  GaussianMixture mixture({GaussianComponent::low_rank(1.0, torch::zeros({2}), a, 0.0)});
  EXPECT_FALSE(mixture.nonsingular());
  EXPECT_THROW(mixture.log_prob(torch::zeros({1, 2}, kF64)), InputError);
  // Any sigma > 0 makes the noised marginal a proper density.
  const auto lp = mixture.evaluate(torch::zeros({1, 2}, kF64), 1.0, 0.1).log_prob;
  const auto cov = torch::tensor({{1.01, 0.0}, {0.0, 0.01}}, kF64);
  EXPECT_NEAR(
      lp.item<double>(),
      dense_log_normal(torch::zeros({1, 2}, kF64), torch::zeros({2}, kF64), cov).item<double>(),
      1e-10);
}

TEST(MixtureTest, SamplingRecoversWeightsMeansAndVariances) {
  const auto r = four_kinds(3, 8);
  GaussianMixture mixture(r.components);
  const int64_t n = 200000;
  const auto [x, labels] = mixture.sample(n, seeded(9));
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{n, 3}));
  const auto w = mixture.weights();
  for (int64_t k = 0; k < 4; ++k) {
    const auto rows = x.index_select(0, (labels == k).nonzero().reshape({-1}));
    const double nk = static_cast<double>(rows.size(0));
    const double wk = w[k].item<double>();
    // Weight: binomial standard error; means and variances: 5 standard errors per coordinate.
    EXPECT_NEAR(nk / n, wk, 5.0 * std::sqrt(wk * (1 - wk) / n)) << "component " << k;
    const auto var = r.covariances[k].diagonal();
    const auto mean_err = (rows.mean(0) - r.means[k]).abs();
    EXPECT_TRUE((mean_err <= 5.0 * (var / nk).sqrt()).all().item<bool>()) << "component " << k;
    const auto var_err = (rows.var(0) - var).abs();
    EXPECT_TRUE((var_err <= 5.0 * var * std::sqrt(2.0 / nk)).all().item<bool>())
        << "component " << k;
  }
}

TEST(MixtureTest, SamplingIsDeterministicPerSeed) {
  GaussianMixture mixture(four_kinds(2, 11).components);
  const auto a = mixture.sample(100, seeded(1)).x;
  const auto b = mixture.sample(100, seeded(1)).x;
  const auto c = mixture.sample(100, seeded(2)).x;
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  const auto f32 = mixture.sample(100, seeded(1), torch::kFloat32).x;
  EXPECT_EQ(f32.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(f32.to(torch::kFloat64), a, 1e-6, 1e-6));
}

TEST(MixtureTest, Float32CopyAgreesWithFloat64) {
  GaussianMixture mixture(four_kinds(5, 12).components);
  const auto x = torch::randn({40, 5}, seeded(13), kF64);
  const auto single = mixture.to(torch::kFloat32);
  const auto x32 = x.to(torch::kFloat32);
  const auto e32 = single.evaluate(x32, 0.8, 0.5);
  const auto e64 = mixture.evaluate(x, 0.8, 0.5);
  EXPECT_EQ(e32.score.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(e32.log_prob.to(torch::kFloat64), e64.log_prob, 1e-5, 1e-4));
  EXPECT_TRUE(torch::allclose(e32.score.to(torch::kFloat64), e64.score, 1e-4, 1e-4));
}

TEST(MixtureTest, ComponentLogJointSumsToLogProb) {
  GaussianMixture mixture(four_kinds(3, 14).components);
  const auto x = torch::randn({30, 3}, seeded(15), kF64);
  EXPECT_TRUE(torch::allclose(torch::logsumexp(mixture.component_log_joint(x), 1),
                              mixture.log_prob(x), 1e-12, 1e-12));
  EXPECT_THROW(mixture.log_prob(torch::zeros({4, 2}, kF64)), InputError);
}

}  // namespace
}  // namespace diffuse
