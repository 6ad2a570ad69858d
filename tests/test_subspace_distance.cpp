// Distance to the nearest component subspace: a hand-made line and plane in R^3, and exact
// samples of a low-rank mixture, whose distance is the chi distribution's mean times the floor.
#include "core/base/errors.h"
#include "core/math/mixture.h"
#include "core/metrics/subspace_distance.h"
#include "seeded.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

namespace diffuse {
namespace {

using testing::kF64;


TEST(SubspaceDistanceTest, LineAndPlaneByHand) {
  // Line {(t, 0, 1)} and plane {x = 0}. The factors are scaled and, for the plane, not
  // orthonormal: only their column spaces matter.
  const GaussianMixture mixture(
      {GaussianComponent::low_rank(1.0, torch::tensor({7.0, 0.0, 1.0}, kF64),
                                   torch::tensor({{2.0}, {0.0}, {0.0}}, kF64), 0.01),
       GaussianComponent::low_rank(1.0, torch::zeros({3}, kF64),
                                   torch::tensor({{0.0, 0.0}, {1.0, 1.0}, {0.0, 3.0}}, kF64),
                                   0.01)});
  const auto subspaces = component_subspaces(mixture);
  ASSERT_EQ(subspaces.size(), 2u);
  EXPECT_EQ(subspaces[0].basis.size(1), 1);
  EXPECT_EQ(subspaces[1].basis.size(1), 2);
  // (5, 0, 1): on the line, 5 from the plane -> 0. (3, 4, 0): sqrt(17) from the line, 3 from
  // the plane -> 3. (2, 0, -3): 4 from the line, 2 from the plane -> 2.
  const auto x = torch::tensor({{5.0, 0.0, 1.0}, {3.0, 4.0, 0.0}, {2.0, 0.0, -3.0}}, kF64);
  EXPECT_NEAR(mean_subspace_distance(subspaces, x), 5.0 / 3.0, 1e-12);
}

TEST(SubspaceDistanceTest, ExactSamplesSitAtTheFloorsChiMean) {
  // Two components in one 2-D subspace of R^6 with floor s^2 = 1e-2: the distance is s |z|,
  // z ~ N(0, I_4), whose mean is s sqrt(2) Gamma(5/2) / Gamma(2) = s * 3 sqrt(pi) / (2 sqrt 2).
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
  const auto basis = std::get<0>(torch::linalg_qr(torch::randn({6, 2}, gen, kF64)));
  const GaussianMixture mixture(
      {GaussianComponent::low_rank(1.0, basis.matmul(torch::tensor({2.0, 0.0}, kF64)), basis, 1e-2),
       GaussianComponent::low_rank(1.0, basis.matmul(torch::tensor({-1.0, 3.0}, kF64)), 0.5 * basis,
                                   1e-2)});
  const auto x = mixture.sample(20000, gen).x;
  const double expected = 0.1 * 3.0 * std::sqrt(M_PI) / (2.0 * std::sqrt(2.0));
  // Standard error: 0.1 sqrt(4 - 1.88^2) / sqrt(20000) = 5e-4.
  EXPECT_NEAR(mean_subspace_distance(component_subspaces(mixture), x), expected, 3e-3);
}

TEST(SubspaceDistanceTest, FullRankComponentsHaveNoSubspaces) {
  const GaussianMixture iso({GaussianComponent::isotropic(1.0, torch::zeros({2}, kF64), 1.0)});
  EXPECT_TRUE(component_subspaces(iso).empty());
  // A factor of rank D spans everything.
  const GaussianMixture full(
      {GaussianComponent::low_rank(1.0, torch::zeros({2}, kF64), torch::eye(2, kF64), 0.0)});
  EXPECT_TRUE(component_subspaces(full).empty());
}

TEST(SubspaceDistanceTest, RejectsMismatchedSamples) {
  const GaussianMixture line({GaussianComponent::low_rank(
      1.0, torch::zeros({3}, kF64), torch::tensor({{1.0}, {0.0}, {0.0}}, kF64), 0.0)});
  const auto subspaces = component_subspaces(line);
  EXPECT_THROW(mean_subspace_distance(subspaces, torch::zeros({4, 2}, kF64)), InputError);
  EXPECT_THROW(mean_subspace_distance(subspaces, torch::zeros({0, 3}, kF64)), InputError);
  EXPECT_THROW(mean_subspace_distance({}, torch::zeros({4, 3}, kF64)), InputError);
}

}  // namespace
}  // namespace diffuse
