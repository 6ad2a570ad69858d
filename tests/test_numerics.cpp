// core/math/numerics.h against closed forms: the phi functions against their definitions in long
// double and against the integral they stand for, the broadcast shape, SplitMix64 against the
// published sequence, and the multistep order rule step by step.
#include "core/math/numerics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace diffuse {
namespace {

// phi_k(z) = (e^z - sum_{j<k} z^j / j!) / z^k, in long double (about 3 more digits than double).
double phi_closed_form(int k, double z) {
  long double e = std::exp(static_cast<long double>(z)), term = 1.0L;
  for (int j = 0; j < k; ++j) {
    e -= term;
    term *= static_cast<long double>(z) / (j + 1);
  }
  return static_cast<double>(e / std::pow(static_cast<long double>(z), k));
}

TEST(ExpPhi, MatchesTheClosedFormAwayFromZero) {
  // |z| >= 0.3: the long double closed form loses at most log10(4! / 0.3^4) = 3.5 of its 19
  // digits, so it is a reference to better than 1e-15 here.
  for (int k = 0; k <= 4; ++k)
    for (double z : {-8.0, -3.0, -1.0, -0.999, -0.6, -0.3, 0.3, 0.8, 1.5, 4.0})
      EXPECT_NEAR(exp_phi(k, z), phi_closed_form(k, z), 1e-14 * std::abs(phi_closed_form(k, z)))
          << "k = " << k << ", z = " << z;
}

TEST(ExpPhi, MatchesTheTaylorSeriesNearZero) {
  // phi_k(z) = sum_j z^j / (j + k)!: five terms leave z^5 / (k + 5)! < 1e-17 at |z| <= 1e-3,
  // where the closed form would cancel.
  for (int k = 0; k <= 4; ++k)
    for (double z : {-1e-3, -1e-8, 0.0, 1e-8, 1e-3}) {
      double taylor = 0.0;
      for (int j = 0; j < 5; ++j) taylor += std::pow(z, j) / std::tgamma(j + k + 1.0);
      EXPECT_NEAR(exp_phi(k, z), taylor, 1e-15 * taylor) << "k = " << k << ", z = " << z;
    }
}

TEST(ExpPhi, IsTheExponentialIntegralWeight) {
  // int_0^h e^{-(h-u)} u^k / k! du = h^{k+1} phi_{k+1}(-h) (the identity the solvers use), by
  // composite Simpson with 4000 intervals (error below 1e-13 for these h).
  for (int k = 0; k <= 3; ++k)
    for (double h : {0.05, 0.7, 3.0}) {
      const int n = 4000;
      const double dx = h / n;
      const auto f = [&](double u) {
        return std::exp(-(h - u)) * std::pow(u, k) / std::tgamma(k + 1.0);
      };
      double integral = f(0.0) + f(h);
      for (int i = 1; i < n; ++i) integral += (i % 2 ? 4.0 : 2.0) * f(i * dx);
      integral *= dx / 3.0;
      EXPECT_NEAR(h * std::pow(h, k) * exp_phi(k + 1, -h), integral, 1e-12 * integral)
          << "k = " << k << ", h = " << h;
    }
}

TEST(ExpPhi, BothBranchesAreAccurateWhereTheyMeet) {
  // |z| = 1 switches from the series to the recursion: just inside, at and just outside it the
  // value is the long double closed form's (which loses at most log10(4!) = 1.4 digits there).
  for (int k = 0; k <= 4; ++k)
    for (double z : {-1.0 - 1e-12, -1.0, -1.0 + 1e-12, 1.0 - 1e-12, 1.0, 1.0 + 1e-12})
      EXPECT_NEAR(exp_phi(k, z), phi_closed_form(k, z), 1e-14 * std::abs(phi_closed_form(k, z)))
          << "k = " << k << ", z = " << z;
}

TEST(ExpPhi, TensorFormIsTheClosedFormPerElement) {
  // One z per example, mixing both branches in one tensor.
  const std::vector<double> zs = {-30.0, -3.0, -1.0, -0.5, -1e-9, 0.0, 1e-6, 0.25, 1.0, 2.5, 12.0};
  const auto z = torch::tensor(zs, torch::kFloat64);
  for (int k = 0; k <= 4; ++k) {
    const auto phi = exp_phi(k, z);
    for (std::size_t i = 0; i < zs.size(); ++i) {
      // The closed form where it keeps its digits (as above); the scalar series, checked against
      // the Taylor sum above, near 0.
      const double expected =
          std::abs(zs[i]) >= 0.3 ? phi_closed_form(k, zs[i]) : exp_phi(k, zs[i]);
      EXPECT_NEAR(phi[i].item<double>(), expected, 1e-14 * std::abs(expected))
          << "k = " << k << ", z = " << zs[i];
    }
  }
  EXPECT_THROW(exp_phi(-1, z), std::invalid_argument);
}

TEST(ExpPhi, RefusesANegativeIndex) { EXPECT_THROW(exp_phi(-1, 0.5), std::invalid_argument); }

TEST(PerSample, ShapesOneValuePerSampleToBroadcast) {
  const auto v = torch::arange(4, torch::kFloat64);
  const auto x = torch::ones({4, 3, 2, 2}, torch::kFloat32);
  const auto column = per_sample(v, x);
  EXPECT_EQ(column.sizes(), (std::vector<std::int64_t>{4, 1, 1, 1}));
  EXPECT_EQ(column.scalar_type(), torch::kFloat32);
  const auto product = column * x;
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(torch::all(product[i] == static_cast<float>(i)).item<bool>());
}

TEST(SplitMix64, GivesThePublishedSequence) {
  // The reference generator's first outputs from state 0 (Steele, Lea, Flood 2014; the
  // splitmix64.c of Vigna): output n is splitmix64(n * gamma).
  const std::uint64_t gamma = 0x9e3779b97f4a7c15ULL;
  EXPECT_EQ(splitmix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(splitmix64(gamma), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(splitmix64(2 * gamma), 0x06c45d188009454fULL);
}

TEST(MultistepOrder, WarmsUpAndLowersTheFinalStepsOfShortRuns) {
  const auto orders = [](int order, int steps, bool lower_final) {
    std::vector<int> out;
    for (int i = 0; i < steps; ++i) out.push_back(multistep_order(order, i, steps, lower_final));
    return out;
  };
  EXPECT_EQ(orders(3, 5, true), (std::vector<int>{1, 2, 3, 2, 1}));
  EXPECT_EQ(orders(3, 5, false), (std::vector<int>{1, 2, 3, 3, 3}));
  EXPECT_EQ(orders(2, 12, true), (std::vector<int>{1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(orders(3, 2, true), (std::vector<int>{1, 1}));
}

TEST(SolveDense, SolvesSystemsThatNeedPivoting) {
  // a x = b with x = (1, -2, 3) and a zero first pivot, so the rows must be swapped.
  const std::vector<std::vector<double>> a = {{0.0, 2.0, 1.0}, {1.0, 1.0, 1.0}, {2.0, 0.0, -1.0}};
  const std::vector<double> x = {1.0, -2.0, 3.0};
  std::vector<double> b(3, 0.0);
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k) b[i] += a[i][k] * x[k];
  const auto solved = solve_dense(a, b);
  ASSERT_EQ(solved.size(), 3u);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(solved[k], x[k], 1e-15) << k;
  // UniPC's system R_ik = r_k^i with r = (-1, -2, 1) and b = (1, 0, 0): the Lagrange weights of
  // the value at 0 through the nodes -1, -2, 1, i.e. (1, -1/3, 1/3) in closed form.
  const auto rho =
      solve_dense({{1.0, 1.0, 1.0}, {-1.0, -2.0, 1.0}, {1.0, 4.0, 1.0}}, {1.0, 0.0, 0.0});
  EXPECT_NEAR(rho[0], 1.0, 1e-15);
  EXPECT_NEAR(rho[1], -1.0 / 3.0, 1e-15);
  EXPECT_NEAR(rho[2], 1.0 / 3.0, 1e-15);
}

TEST(SolveDense, RefusesSingularOrMismatchedSystems) {
  EXPECT_THROW(solve_dense({{1.0, 2.0}, {2.0, 4.0}}, {1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(solve_dense({{1.0, 2.0}}, {1.0, 2.0}), std::invalid_argument);
}

}  // namespace
}  // namespace diffuse
