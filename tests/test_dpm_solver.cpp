// The DPM-Solver family (samplers/dpm_solver.h) against closed forms: global orders on logSNR
// grids with the exact Gaussian flow map, DPM-Solver-1 = DDIM(eta = 0), the local order of the
// authors' and the corrected 3M step, SDE-DPM-Solver++(2M) by the moments of many samples, the
// fast order mix's exact NFE and its grids, and bad input.
#include "core/base/errors.h"
#include "samplers/dpm_solver.h"
#include "tests/gaussian_flow.h"
#include "tests/process_fixture.h"
#include "tests/sampler_moments.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <optional>
#include <utility>

namespace diffuse::testing {
namespace {

SamplerConfig config_for(const std::string& sampler, int steps, const std::string& grid) {
  SamplerConfig config;
  config.name = sampler;
  config.steps = steps;
  config.grid = grid;
  return config;
}

// Slope of log error against log steps on logSNR grids from t_max to t_end (default t_min).
double dpm_error_slope(const std::string& sampler, const std::string& process_kind,
                const std::vector<int>& step_counts, std::optional<double> t_end = {}) {
  const auto process = process_of(process_kind);
  std::vector<double> steps, errors;
  for (int k : step_counts) {
    auto config = config_for(sampler, k, "logsnr");
    config.t_end = t_end;
    steps.push_back(k);
    errors.push_back(ode_map_error(config, process, GaussianTarget{}));
  }
  return log_log_slope(steps, errors);
}

struct Expected {
  const char* sampler;
  double slope;
};

// Global order p shows as a slope of -p; 0.3 covers what is left of pre-asymptotic behaviour at
// 32..128 steps. The runs stop where the Gaussian's data prediction x0(lambda) still curves
// (lambda about 0: t = 0.3 for vp-linear, 1.5 for edm). Run on to t_min, x0(lambda) is flat at
// both ends and the leading h^3 error term of the corrected 3M nearly cancels over the run: its
// slope there is about -4 up to 256 steps (see FullRunSeparatesTheTwo3Ms).
TEST(DpmSolverTest, GlobalOrdersOnLogsnrGrids) {
  const Expected expected[] = {
      {"dpm-solver-1", -1.0},   {"dpm-solver-2", -2.0},   {"dpm-solver-3", -3.0},
      {"dpm-solver++2s", -2.0}, {"dpm-solver++2m", -2.0}, {"dpm-solver++3m", -2.0},
      {"dpm-solver++3m-corrected", -3.0},
  };
  for (const auto& [kind, t_end] : {std::pair<const char*, double>{"vp-linear", 0.3},
                                    std::pair<const char*, double>{"edm", 1.5}})
    for (const auto& e : expected) {
      const double slope = dpm_error_slope(e.sampler, kind, {32, 64, 128}, t_end);
      EXPECT_NEAR(slope, e.slope, 0.3) << e.sampler << " on " << kind;
    }
}

TEST(DpmSolverTest, FullRunSeparatesTheTwo3Ms) {
  // From t = 1 to 1e-3: the authors' 3M stays second order, the corrected one at least third.
  EXPECT_NEAR(dpm_error_slope("dpm-solver++3m", "vp-linear", {64, 128, 256}), -2.0, 0.3);
  EXPECT_LT(dpm_error_slope("dpm-solver++3m-corrected", "vp-linear", {64, 128, 256}), -2.7);
  EXPECT_NEAR(dpm_error_slope("dpm-solver-3", "vp-linear", {16, 32, 64}), -3.0, 0.3);
}

TEST(DpmSolverTest, FastMixesAreSecondOrderAsAWhole) {
  // NFE = 3K + 1 ends with one first-order step (local error O(H^2)): global order 2.
  EXPECT_NEAR(dpm_error_slope("dpm-solver-fast", "vp-linear", {61, 121, 241}, 0.3), -2.0, 0.3);
  // NFE = 3K + 2 ends with a second-order step: third order.
  EXPECT_NEAR(dpm_error_slope("dpm-solver-fast", "vp-linear", {62, 122, 242}, 0.3), -3.0, 0.3);
  // Odd NFE: orders 2, ..., 2, 1.
  EXPECT_NEAR(dpm_error_slope("dpm-solver-fast-2", "vp-linear", {65, 129, 257}, 0.3), -2.0, 0.3);
}

TEST(DpmSolverTest, ConvergesOnEveryProcessAndGridKind) {
  const char* samplers[] = {"dpm-solver-1",   "dpm-solver-2",   "dpm-solver-3",
                            "dpm-solver-fast", "dpm-solver++2s", "dpm-solver++2m",
                            "dpm-solver++3m", "dpm-solver++3m-corrected"};
  // Four times the steps lowers the error, which ends below 0.03 (dpm-solver-1 at 96 steps).
  const auto check = [&](const ProcessPtr& process, const char* grid) {
    for (const char* sampler : samplers) {
      const double coarse = ode_map_error(config_for(sampler, 24, grid), process, {}, 64);
      const double fine = ode_map_error(config_for(sampler, 96, grid), process, {}, 64);
      EXPECT_LT(fine, coarse) << sampler << " " << grid << " " << process->name();
      EXPECT_LT(fine, 0.03) << sampler << " " << grid << " " << process->name();
    }
  };
  // logSNR grids on every process where lambda is finite over its range.
  for (const auto& kind : process_kinds()) {
    const auto process = process_of(kind);
    if (!std::isfinite(process->lambda(process->t_max()))) {
      // rf at t = 1 (alpha = 0): the solvers step in lambda, so they refuse, for any grid.
      for (const char* sampler : samplers)
        EXPECT_THROW(ode_map_error(config_for(sampler, 12, "uniform"), process, {}, 4),
                     InputError)
            << sampler << " " << kind;
      continue;
    }
    check(process, "logsnr");
  }
  // Uniform-t and quadratic grids (the reference's other skip types) are not asymptotic at these
  // step counts: the last lambda-step stays large. Require a falling error that ends small.
  for (const char* kind : {"vp-linear", "ddpm"})
    for (const char* grid : {"uniform", "quadratic"}) check(process_of(kind), grid);
}

TEST(DpmSolverTest, FirstOrderIsDdimInClosedForm) {
  const auto process = process_of("vp-linear");
  const auto denoiser = gaussian_denoiser(process, GaussianTarget{});
  const double s = 0.6, t = 0.35;
  NoiseSource noise(4, 0);
  const auto x = noise.next({16, 2}, torch::kFloat64);
  SamplerConfig config = config_for("dpm-solver-1", 1, "logsnr");
  config.times = {s, t};
  const auto got = run_sampler(config, denoiser, x, noise);

  const auto eps = denoiser.eps(x, s);
  const double h = process->lambda(t) - process->lambda(s);
  // DPM-Solver-1: x_t = (alpha_t / alpha_s) x - sigma_t expm1(h) eps_hat.
  const auto dpm =
      process->alpha(t) / process->alpha(s) * x - process->sigma(t) * std::expm1(h) * eps;
  // DDIM (eta = 0): x_t = alpha_t x0_hat + sigma_t eps_hat.
  const auto x0 = (x - process->sigma(s) * eps) / process->alpha(s);
  const auto ddim = process->alpha(t) * x0 + process->sigma(t) * eps;
  EXPECT_TRUE(torch::allclose(got, dpm, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(got, ddim, 1e-12, 1e-12));
}

// One multistep step with exact history: x0(lambda) known, data predictions m_j = x0(lambda_j) at
// lambda_0 - h0 - h1, lambda_0 - h0, lambda_0; the step's error is that of
// int_0^h e^{-(h-u)} x0(lambda_0 + u) du (alpha_t factored out), here by composite Simpson.
double local_error(const std::function<double(double)>& x0, int order, bool corrected, double h,
                   double h0, double h1) {
  const double l0 = 0.3;
  const auto w = dpmpp_multistep_weights(order, h, h0, h1, corrected);
  const double step = w.m0 * x0(l0) + w.m1 * x0(l0 - h0) + w.m2 * x0(l0 - h0 - h1);
  const int n = 2000;
  double exact = 0.0;
  for (int i = 0; i <= n; ++i) {
    const double u = h * i / n, weight = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
    exact += weight * std::exp(-(h - u)) * x0(l0 + u);
  }
  exact *= h / (3.0 * n);
  return std::abs(step - exact);
}

double local_slope(const std::function<double(double)>& x0, int order, bool corrected,
                   double ratio0, double ratio1) {
  std::vector<double> hs, errors;
  for (double h : {0.02, 0.01, 0.005, 0.0025}) {
    hs.push_back(h);
    errors.push_back(local_error(x0, order, corrected, h, ratio0 * h, ratio1 * h));
  }
  return -log_log_slope(hs, errors);  // log_log_slope fits against steps; here against h
}

TEST(DpmSolverTest, AuthorsThirdOrderStepIsOnlySecondOrderLocally) {
  const auto quadratic = [](double l) { return 0.7 - 0.4 * l + 0.9 * l * l; };
  const auto smooth = [](double l) { return std::cos(2.0 * l) + 0.5 * std::exp(0.7 * l); };
  const std::vector<std::pair<double, double>> history_ratios = {{1.0, 1.0}, {0.8, 1.3}};
  for (const auto& ratios : history_ratios) {
    const double r0 = ratios.first, r1 = ratios.second;
    // Local error O(h^3) for the authors' 3M (global order 2) ...
    EXPECT_NEAR(-local_slope(quadratic, 3, false, r0, r1), 3.0, 0.15) << r0;
    EXPECT_NEAR(-local_slope(smooth, 3, false, r0, r1), 3.0, 0.15) << r0;
    // ... O(h^4) for the corrected one, which is exact on quadratics.
    EXPECT_NEAR(-local_slope(smooth, 3, true, r0, r1), 4.0, 0.15) << r0;
    for (double h : {0.2, 0.05})
      EXPECT_LT(local_error(quadratic, 3, true, h, r0 * h, r1 * h), 1e-13) << h;
    // 2M: O(h^3).
    EXPECT_NEAR(-local_slope(smooth, 2, false, r0, r1), 3.0, 0.15) << r0;
  }
}

TEST(DpmSolverTest, SdeDpmSolverPP2MMatchesTheGaussianMarginal) {
  const GaussianTarget target;
  for (const char* kind : {"vp-linear", "edm"}) {
    const auto process = process_of(kind);
    const auto denoiser = gaussian_denoiser(process, target);
    const auto config = config_for("sde-dpm-solver++2m", 40, "logsnr");
    const std::int64_t n = 20000;
    NoiseSource noise(21, 0);
    const auto x_T = noise.next({n, target.dim}, torch::kFloat64) * process->prior_std();
    const auto x = run_sampler(config, denoiser, x_T, noise);
    const double t_end = process->t_min();
    const double mean = process->alpha(t_end) * target.mean;
    const double sd = marginal_std(*process, target, t_end);
    // Discretisation bias allowed: 1% of the standard deviation in the mean, 3% in the variance.
    expect_gaussian_moments(x, mean, sd * sd, 0.01 * sd, 0.03 * sd * sd, kind);
  }
}

TEST(DpmSolverTest, SdeDpmSolverPP2MFromOneStartHasTheForwardPosterior) {
  // The reverse SDE reproduces the forward process's joint law of (x_s, x_T), so from one fixed
  // x_T its output has the Gaussian posterior q(x_s | x_T): with V_t = a_t^2 v + s_t^2 and
  // Cov(x_s, x_T) = (a_T / a_s) V_s, the mean a_s m + Cov / V_T (x_T - a_T m) and the variance
  // V_s - Cov^2 / V_T. The ODE solver would put every row on one point (variance 0), and a wrong
  // noise scale (Lu et al. 2022b, eq. (18)) a wrong variance.
  const GaussianTarget target;
  for (const char* kind : {"vp-linear", "edm"}) {
    const auto process = process_of(kind);
    const auto config = config_for("sde-dpm-solver++2m", 40, "logsnr");
    const auto times = sampler_grid(config, *process);
    const double big_t = times.front(), s = times.back();
    const double a_t = process->alpha(big_t), a_s = process->alpha(s);
    const double v_t = std::pow(marginal_std(*process, target, big_t), 2);
    const double v_s = std::pow(marginal_std(*process, target, s), 2);
    const double cov = a_t / a_s * v_s;
    const double start = 1.5 * process->prior_std();
    NoiseSource noise(23, 0);
    const auto x_T = torch::full({20000, target.dim}, start, torch::kFloat64);
    const auto x = run_sampler(config, gaussian_denoiser(process, target), x_T, noise);
    const double mean = a_s * target.mean + cov / v_t * (start - a_t * target.mean);
    const double variance = v_s - cov * cov / v_t;
    // The discretisation bias allowed is the marginal test's: 1% of the sd, 3% of the variance.
    const double sd = std::sqrt(variance);
    expect_gaussian_moments(x, mean, variance, 0.01 * sd, 0.03 * variance, kind);
  }
}

TEST(DpmSolverTest, FastOrdersFollowTheReference) {
  const std::vector<std::pair<int, std::vector<int>>> cases = {
      {1, {1}},       {2, {2}},          {3, {2, 1}},          {4, {3, 1}},
      {5, {3, 2}},    {6, {3, 2, 1}},    {10, {3, 3, 3, 1}},   {11, {3, 3, 3, 2}},
      {12, {3, 3, 3, 2, 1}},
  };
  for (const auto& [nfe, orders] : cases) EXPECT_EQ(dpm_solver_fast_orders(nfe, 3), orders) << nfe;
  EXPECT_EQ(dpm_solver_fast_orders(7, 2), (std::vector<int>{2, 2, 2, 1}));
  EXPECT_EQ(dpm_solver_fast_orders(8, 2), (std::vector<int>{2, 2, 2, 2}));
  EXPECT_EQ(dpm_solver_fast_orders(3, 1), (std::vector<int>{1, 1, 1}));
}

TEST(DpmSolverTest, FastMixSpendsExactlyTheRequestedNfe) {
  const auto process = process_of("vp-linear");
  auto denoiser = gaussian_denoiser(process, GaussianTarget{});
  NoiseSource noise(2, 0);
  const auto x_T = noise.next({4, 2}, torch::kFloat64);
  for (const char* sampler : {"dpm-solver-fast", "dpm-solver-fast-2"})
    for (const char* grid : {"logsnr", "uniform", "quadratic"})
      for (int nfe = 5; nfe <= 30; ++nfe) {
        const auto config = config_for(sampler, nfe, grid);
        const int max_order = std::string(sampler) == "dpm-solver-fast-2" ? 2 : 3;
        const auto orders = dpm_solver_fast_orders(nfe, max_order);
        EXPECT_EQ(std::accumulate(orders.begin(), orders.end(), 0), nfe);
        EXPECT_EQ(sampler_nfe(config, *process), nfe) << sampler << " " << grid << " " << nfe;
        EXPECT_EQ(sampler_grid(config, *process).size(), std::size_t(nfe) + 1);
        denoiser.reset_evaluations();
        run_sampler(config, denoiser, x_T, noise);
        EXPECT_EQ(denoiser.evaluations(), nfe) << sampler << " " << grid << " " << nfe;
      }
}

TEST(DpmSolverTest, FastGridsFollowTheReference) {
  const auto process = process_of("vp-linear");
  const int nfe = 12;  // orders 3, 3, 3, 2, 1: K = 5 outer steps
  // logSNR: K outer steps uniform in lambda, each split uniformly in lambda.
  const auto times = sampler_grid(config_for("dpm-solver-fast", nfe, "logsnr"), *process);
  const double l0 = process->lambda(process->t_max()), l1 = process->lambda(process->t_min());
  const double big_h = (l1 - l0) / 5;
  const std::vector<double> expected_lambda = {0,         big_h / 3, 2 * big_h / 3, 1 * big_h,
                                               4 * big_h / 3, 5 * big_h / 3, 2 * big_h,
                                               7 * big_h / 3, 8 * big_h / 3, 3 * big_h,
                                               3.5 * big_h, 4 * big_h,     5 * big_h};
  ASSERT_EQ(times.size(), expected_lambda.size());
  for (std::size_t i = 0; i < times.size(); ++i)
    EXPECT_NEAR(process->lambda(times[i]), l0 + expected_lambda[i], 1e-9) << i;
  // Other kinds: the kind's grid with NFE intervals.
  const auto uniform = sampler_grid(config_for("dpm-solver-fast", nfe, "uniform"), *process);
  EXPECT_EQ(uniform, uniform_grid(process->t_max(), process->t_min(), nfe));
}

TEST(DpmSolverTest, SinglestepIntermediateTimesFollowTheGridKind) {
  const auto process = process_of("vp-linear");
  const double s = 0.8, t = 0.2;
  EXPECT_NEAR(singlestep_inner_times(*process, "uniform", s, t, 2)[0], 0.5, 1e-15);
  const auto quadratic = singlestep_inner_times(*process, "quadratic", s, t, 3);
  const double a = std::sqrt(s), b = std::sqrt(t);
  EXPECT_NEAR(quadratic[0], std::pow(a + (b - a) / 3, 2), 1e-15);
  EXPECT_NEAR(quadratic[1], std::pow(a + 2 * (b - a) / 3, 2), 1e-15);
  const auto logsnr = singlestep_inner_times(*process, "logsnr", s, t, 3);
  const double ls = process->lambda(s), lt = process->lambda(t);
  EXPECT_NEAR(process->lambda(logsnr[0]), ls + (lt - ls) / 3, 1e-9);
  EXPECT_NEAR(process->lambda(logsnr[1]), ls + 2 * (lt - ls) / 3, 1e-9);
  EXPECT_TRUE(singlestep_inner_times(*process, "uniform", s, t, 1).empty());
}

TEST(DpmSolverTest, LowerOrderFinalOnlyActsBelowTenSteps) {
  const auto process = process_of("vp-linear");
  const auto denoiser = gaussian_denoiser(process, GaussianTarget{});
  NoiseSource noise(8, 0);
  const auto x_T = noise.next({8, 2}, torch::kFloat64);
  for (int steps : {6, 12}) {
    auto config = config_for("dpm-solver++3m", steps, "logsnr");
    const auto with = run_sampler(config, denoiser, x_T, noise);
    config.lower_order_final = false;
    const auto without = run_sampler(config, denoiser, x_T, noise);
    EXPECT_EQ(torch::equal(with, without), steps >= 10) << steps;
  }
}

TEST(DpmSolverTest, RejectsWhatAnOrderMixCannotMeet) {
  // Every NFE >= 1 has a mix (NFE 1: one DPM-Solver-1 step); NFE < 1 has none.
  EXPECT_THROW(dpm_solver_fast_orders(0, 3), InputError);
  EXPECT_THROW(dpm_solver_fast_orders(-2, 2), InputError);
  EXPECT_THROW(dpm_solver_fast_orders(6, 4), InputError);
  const auto process = process_of("vp-linear");
  const auto denoiser = gaussian_denoiser(process, GaussianTarget{});
  NoiseSource noise(1, 0);
  const auto x_T = noise.next({4, 2}, torch::kFloat64);
  for (const char* sampler : {"dpm-solver-fast", "dpm-solver-fast-2"}) {
    auto config = config_for(sampler, 0, "logsnr");
    EXPECT_THROW(run_sampler(config, denoiser, x_T, noise), InputError) << sampler;
    config.grid = "uniform";
    EXPECT_THROW(sampler_nfe(config, *process), InputError) << sampler;
  }
  // A grid with no step at all.
  for (const char* sampler : {"dpm-solver-3", "dpm-solver-fast", "dpm-solver++3m"})
    EXPECT_THROW(find_sampler(sampler).sample(denoiser, x_T, {1.0}, noise, SamplerConfig{}),
                 InputError)
        << sampler;
}

}  // namespace
}  // namespace diffuse::testing
