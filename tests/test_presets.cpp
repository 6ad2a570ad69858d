// The `data:` section: presets have the documented geometry, the multi-manifold mixture lies on
// its subspaces, explicit YAML components parse, and malformed configs name their key path.
#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/data/mixture_config.h"
#include "seeded.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace diffuse {
namespace {

using testing::kF64;
using testing::seeded;



DataConfig parse(const std::string& yaml) {
  return config::load<DataConfig>(YAML::Load(yaml), "data");
}

GaussianMixture mixture_from(const std::string& yaml) {
  auto mixture = make_mixture(parse(yaml));
  if (!mixture) throw std::runtime_error("no mixture for " + yaml);
  return *mixture;
}

void expect_error(const std::string& yaml, const std::vector<std::string>& parts) {
  try {
    make_mixture(parse(yaml));
    FAIL() << "expected an InputError for " << yaml;
  } catch (const InputError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

// Numerical rank of the rows of m.
int64_t rank_of(const torch::Tensor& m, double tol = 1e-9) {
  const auto s = torch::linalg_svdvals(m, c10::nullopt);
  return (s > tol * s.max()).sum().item<int64_t>();
}

TEST(PresetTest, Ring8) {
  const auto mixture = mixture_from("{kind: ring8}");
  ASSERT_EQ(mixture.num_components(), 8);
  EXPECT_EQ(mixture.dim(), 2);
  const auto radii = mixture.means().norm(2, 1);
  EXPECT_TRUE(torch::allclose(radii, torch::full({8}, 4.0, kF64)));
  // Consecutive means are 45 degrees apart: chord 2 r sin(pi / 8).
  const auto m = mixture.means();
  for (int k = 0; k < 8; ++k)
    EXPECT_NEAR((m[k] - m[(k + 1) % 8]).norm().item<double>(), 8.0 * std::sin(M_PI / 8), 1e-12);
  EXPECT_TRUE(torch::allclose(mixture.covariance(3), 0.09 * torch::eye(2, kF64)));
  EXPECT_TRUE(torch::allclose(mixture.weights(), torch::full({8}, 0.125, kF64)));
  const auto wider = mixture_from("{kind: ring8, radius: 2, std: 0.1}");
  EXPECT_NEAR(wider.means()[0].norm().item<double>(), 2.0, 1e-12);
}

TEST(PresetTest, Grid5x5) {
  const auto mixture = mixture_from("{kind: grid5x5}");
  ASSERT_EQ(mixture.num_components(), 25);
  std::set<std::pair<int, int>> cells;
  const auto m = mixture.means();
  for (int k = 0; k < 25; ++k)
    cells.insert({static_cast<int>(std::lround(m[k][0].item<double>())),
                  static_cast<int>(std::lround(m[k][1].item<double>()))});
  std::set<std::pair<int, int>> expected;
  for (int i : {-4, -2, 0, 2, 4})
    for (int j : {-4, -2, 0, 2, 4}) expected.insert({i, j});
  EXPECT_EQ(cells, expected);
  EXPECT_TRUE(torch::allclose(mixture.covariance(0), 0.04 * torch::eye(2, kF64)));
}

TEST(PresetTest, LowDimLivesInOneSubspace) {
  const auto mixture = mixture_from("{kind: lowdim, dim: 16, subspace_dim: 2, seed: 3}");
  ASSERT_EQ(mixture.num_components(), 4);
  EXPECT_EQ(mixture.dim(), 16);
  std::vector<torch::Tensor> directions{mixture.means()};
  for (int64_t k = 0; k < 4; ++k) {
    // Covariance A S A^T + floor I: 2 eigenvalues above the floor, 14 at it.
    const auto eig = torch::linalg_eigvalsh(mixture.covariance(k), "L");
    EXPECT_NEAR(eig.slice(0, 0, 14).max().item<double>(), 1e-4, 1e-12);
    EXPECT_GT(eig[14].item<double>(), 1e-3);
    directions.push_back(mixture.components()[k].factor.t());
  }
  EXPECT_EQ(rank_of(torch::cat(directions)), 2);
}

TEST(PresetTest, MultiManifoldGenerated) {
  const auto mixture = mixture_from("{kind: multimanifold}");
  ASSERT_EQ(mixture.num_components(), 6);  // L = 3, M = 2
  EXPECT_EQ(mixture.dim(), 16);
  std::vector<torch::Tensor> all;
  for (int l = 0; l < 3; ++l) {
    // The two components of subspace l share a 2-D span of means and factor columns.
    std::vector<torch::Tensor> span;
    for (int m = 0; m < 2; ++m) {
      const auto& c = mixture.components()[2 * l + m];
      EXPECT_EQ(c.kind, CovarianceKind::factor);
      EXPECT_DOUBLE_EQ(c.noise, 1e-4);
      EXPECT_NEAR(c.weight, 1.0 / 6.0, 1e-15);
      span.push_back(c.mean.unsqueeze(0));
      span.push_back(c.factor.t());
    }
    EXPECT_EQ(rank_of(torch::cat(span)), 2) << "subspace " << l;
    all.push_back(torch::cat(span));
  }
  EXPECT_EQ(rank_of(torch::cat(all)), 6);  // three distinct random planes in 16 dims
  // The seed decides everything.
  const auto again = mixture_from("{kind: multimanifold, seed: 0}");
  const auto other = mixture_from("{kind: multimanifold, seed: 1}");
  EXPECT_TRUE(torch::equal(mixture.means(), again.means()));
  EXPECT_FALSE(torch::allclose(mixture.means(), other.means()));
}

TEST(PresetTest, MultiManifoldExplicit) {
  const auto mixture = mixture_from(R"({kind: multimanifold, noise_floor: 0.001, manifolds: [
      {weight: 1, basis: [[1, 0], [0, 0], [0, 1]],
       components: [{mean: [1, 2], iso: 0.5}, {weight: 3, mean: [0, 1], diag: [0.1, 0.2]}]},
      {weight: 3, basis: [[0], [1], [0]], components: [{mean: [2], full: [[0.3]]}]}]})");
  ASSERT_EQ(mixture.num_components(), 3);
  const auto w = mixture.weights();
  EXPECT_NEAR(w[0].item<double>(), 0.25 * 0.25, 1e-12);
  EXPECT_NEAR(w[1].item<double>(), 0.25 * 0.75, 1e-12);
  EXPECT_NEAR(w[2].item<double>(), 0.75, 1e-12);
  EXPECT_TRUE(torch::allclose(mixture.means()[0], torch::tensor({1.0, 0.0, 2.0}, kF64)));
  EXPECT_TRUE(torch::allclose(mixture.means()[2], torch::tensor({0.0, 2.0, 0.0}, kF64)));
  // A S A^T + floor I.
  const auto expected =
      torch::diag(torch::tensor({0.1, 0.0, 0.2}, kF64)) + 0.001 * torch::eye(3, kF64);
  EXPECT_TRUE(torch::allclose(mixture.covariance(1), expected, 1e-12, 1e-12));
  expect_error(R"({kind: multimanifold, manifolds: [{basis: [[1, 1], [0, 1]],
                   components: [{mean: [0, 0], iso: 1}]}]})",
               {"data.manifolds[0].basis", "orthonormal"});
  expect_error(R"({kind: multimanifold, seed: 2, manifolds: [{basis: [[1]],
                   components: [{mean: [0], iso: 1}]}]})",
               {"data.seed", "manifolds"});
}

TEST(PresetTest, ExplicitComponentsParse) {
  const auto mixture = mixture_from(R"(
kind: mixture
dim: 2
components:
  - {weight: 1, mean: [0, 0], iso: 0.1}
  - {weight: 2, mean: [2, 0], diag: [0.1, 0.3]}
  - {weight: 1, mean: [0, 2], full: [[1, 0.5], [0.5, 1]]}
  - {weight: 1, mean: [2, 2], factor: [[1], [1]], noise: 0.01}
)");
  ASSERT_EQ(mixture.num_components(), 4);
  EXPECT_NEAR(mixture.weights()[1].item<double>(), 0.4, 1e-15);
  const std::vector<CovarianceKind> kinds = {CovarianceKind::iso, CovarianceKind::diag,
                                             CovarianceKind::full, CovarianceKind::factor};
  for (int k = 0; k < 4; ++k) EXPECT_EQ(mixture.components()[k].kind, kinds[k]);
  const auto expected = torch::tensor({{1.01, 1.0}, {1.0, 1.01}}, kF64);
  EXPECT_TRUE(torch::allclose(mixture.covariance(3), expected, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(mixture.covariance(1), torch::diag(torch::tensor({0.1, 0.3}, kF64))));
}

TEST(PresetTest, MalformedConfigsNameTheKey) {
  expect_error("{kind: mixture, components: [{mean: [0], iso: 1, diag: [1]}]}",
               {"data.components[0]", "exactly one"});
  expect_error("{kind: mixture, components: [{mean: [0, 1]}]}", {"data.components[0]", "none"});
  expect_error("{kind: mixture, dim: 3, components: [{mean: [0, 1], iso: 1}]}",
               {"data.components[0].mean", "3"});
  expect_error("{kind: mixture, components: [{mean: [0, 1], full: [[1, 0]]}]}",
               {"data.components[0].full", "rows"});
  expect_error("{kind: mixture, components: [{mean: [0], iso: 1}, {mean: [0, 1], iso: 1}]}",
               {"data.components[1].mean"});
  expect_error("{kind: mixture, components: [{mean: [0, 0], full: [[1, 2], [2, 1]]}]}",
               {"data.components", "component 0", "positive semi-definite"});
  expect_error("{kind: grid5x5, radius: 3}", {"data.radius", "grid5x5"});
  expect_error("{kind: lowdim, dim: 3, subspace_dim: 4}", {"data.subspace_dim"});
  expect_error("{kind: mixture}", {"data.components"});
  EXPECT_THROW(parse("{kind: ring8, bogus: 1}"), InputError);
  EXPECT_THROW(parse("{kind: spiral}"), InputError);
  EXPECT_THROW(parse("{kind: ring8, std: -1}"), InputError);
}

TEST(PresetTest, TwoMoonsSamplesWithoutAMixture) {
  const auto config = parse("{kind: two-moons, noise: 0.05}");
  EXPECT_FALSE(make_mixture(config).has_value());
  const int64_t n = 20000;
  const auto x = sample_data(config, n, seeded(1));
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{n, 2}));
  EXPECT_TRUE(torch::equal(x, sample_data(config, n, seeded(1))));
  // Centred: each moon's mean is offset by (+-1/2, +-(1/2 - 2/pi)), which cancel.
  const auto mean = x.mean(0);
  const auto se = x.std(0) / std::sqrt(static_cast<double>(n));
  EXPECT_TRUE((mean.abs() <= 5.0 * se).all().item<bool>()) << mean;
  // Points lie near the unit half circles (radius 1 about either moon's centre).
  const auto upper = (x + torch::tensor({0.5, 0.25}, kF64)).norm(2, 1);
  const auto lower = (x - torch::tensor({0.5, 0.25}, kF64)).norm(2, 1);
  EXPECT_LT((torch::minimum((upper - 1).abs(), (lower - 1).abs())).mean().item<double>(), 0.1);
}

TEST(PresetTest, SampleDataFollowsTheMixture) {
  const auto config = parse("{kind: ring8}");
  const auto x = sample_data(config, 4000, seeded(2));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{4000, 2}));
  const auto radius = x.norm(2, 1);
  EXPECT_NEAR(radius.mean().item<double>(), 4.0, 0.05);
}

TEST(PresetTest, IdxKindAndResolvedDefaults) {
  const auto idx = parse("{kind: idx, classes: [1, 3], per_class: 5}");
  EXPECT_FALSE(make_mixture(idx).has_value());
  EXPECT_THROW(sample_data(idx, 10, seeded(3)), InputError);
  const auto resolved = resolve_data_config(idx);
  EXPECT_EQ(resolved.path.value(), std::string(kDefaultImageDirectory));
  EXPECT_EQ(resolved.split.value(), "train");
  // The resolved config round-trips through YAML to the same mixture.
  const auto ring = resolve_data_config(parse("{kind: ring8, std: 0.5}"));
  EXPECT_DOUBLE_EQ(ring.radius.value(), 4.0);
  const auto again = config::load<DataConfig>(config::to_node(ring), "data");
  EXPECT_TRUE(torch::equal(make_mixture(again)->means(), make_mixture(ring)->means()));
  const auto explicit_config = parse("{kind: mixture, components: [{mean: [1, 2], iso: 0.5}]}");
  const auto reloaded = config::load<DataConfig>(config::to_node(explicit_config), "data");
  EXPECT_TRUE(
      torch::equal(make_mixture(reloaded)->means(), make_mixture(explicit_config)->means()));
}

}  // namespace
}  // namespace diffuse
