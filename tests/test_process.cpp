// Forward processes (core/process/process.h), every kind of process_kinds(), in float64 unless
// said: alpha^2 + sigma^2 = 1 for VP kinds, lambda and its inverse, f / dsigma_dt / g^2 against
// finite differences, an Euler-Maruyama run of the forward SDE against the marginals alpha x0 and
// sigma^2, float32 against float64, the DDPM alpha-bar tables, and make_process's errors.
#include "core/base/errors.h"
#include "core/process/process.h"
#include "core/process/time_grid.h"
#include "tests/process_fixture.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

namespace diffuse {
namespace {

using testing::process_of;

torch::Tensor as_tensor(const std::vector<double>& values) {
  return torch::tensor(values, torch::kFloat64);
}

std::vector<double> values_of(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// n times at fractions u in [lo, hi] of [t_min, t_max], uniform in t and (when t_min > 0) also
// geometric, so kinds whose sigma spans decades (ve, edm) are probed at both ends.
std::vector<double> probe_times(const ForwardProcess& p, int n, double lo, double hi) {
  const double a = p.t_min(), b = p.t_max();
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const double u = lo + (hi - lo) * i / (n - 1);
    out.push_back(a + u * (b - a));
    if (a > 0) out.push_back(a * std::pow(b / a, u));
  }
  return out;
}

std::string scientific(double value) {
  std::ostringstream out;
  out << std::scientific << std::setprecision(2) << value;
  return out.str();
}

class ProcessKind : public ::testing::TestWithParam<std::string> {
 protected:
  ProcessPtr process = process_of(GetParam());
};

// (a) VP kinds: alpha^2 + sigma^2 = 1.
TEST_P(ProcessKind, VarianceIsPreservedByVpKinds) {
  if (!process->variance_preserving()) GTEST_SKIP() << GetParam() << " is not VP";
  const auto t = as_tensor(probe_times(*process, 41, 0.0, 1.0));
  const auto a = process->alpha(t), s = process->sigma(t);
  EXPECT_LT((a * a + s * s - 1.0).abs().max().item<double>(), 1e-12);
  EXPECT_EQ(process->prior_std(), 1.0);
}

// Step coefficients come from the host double overloads (the continuous kinds' own double
// arithmetic, the discrete kinds through a host tensor); they must be the float64 tensor values
// to a few units in the last place, at every probe time and at the ends of the range.
TEST_P(ProcessKind, HostDoublesEqualTheTensorForms) {
  const auto times = probe_times(*process, 41, 0.0, 1.0);
  const auto t = as_tensor(times);
  const auto lambdas = values_of(process->lambda(t));
  const auto near = [](double host, double tensor) {
    return std::abs(host - tensor) <= 1e-13 * std::max(1.0, std::abs(tensor)) ||
           (std::isinf(host) && host == tensor);
  };
  const std::vector<std::pair<const char*, std::pair<std::vector<double>, double (*)(
                                                      const ForwardProcess&, double)>>>
      functions = {
          {"log_alpha", {values_of(process->log_alpha(t)),
                         [](const ForwardProcess& p, double u) { return p.log_alpha(u); }}},
          {"alpha", {values_of(process->alpha(t)),
                     [](const ForwardProcess& p, double u) { return p.alpha(u); }}},
          {"sigma", {values_of(process->sigma(t)),
                     [](const ForwardProcess& p, double u) { return p.sigma(u); }}},
          {"f", {values_of(process->f(t)),
                 [](const ForwardProcess& p, double u) { return p.f(u); }}},
          {"dsigma_dt", {values_of(process->dsigma_dt(t)),
                         [](const ForwardProcess& p, double u) { return p.dsigma_dt(u); }}},
          {"dalpha_dt", {values_of(process->dalpha_dt(t)),
                         [](const ForwardProcess& p, double u) { return p.dalpha_dt(u); }}},
          {"g2", {values_of(process->g2(t)),
                  [](const ForwardProcess& p, double u) { return p.g2(u); }}},
          {"lambda", {lambdas, [](const ForwardProcess& p, double u) { return p.lambda(u); }}}};
  for (const auto& [name, expected_and_host] : functions) {
    const auto& [expected, host] = expected_and_host;
    for (std::size_t i = 0; i < times.size(); ++i)
      EXPECT_TRUE(near(host(*process, times[i]), expected[i]))
          << name << "(" << times[i] << ") = " << host(*process, times[i]) << " on the host, "
          << expected[i] << " as a tensor";
  }
  const auto times_back = values_of(process->t_of_lambda(as_tensor(lambdas)));
  for (std::size_t i = 0; i < lambdas.size(); ++i)
    EXPECT_TRUE(near(process->t_of_lambda(lambdas[i]), times_back[i]))
        << "t_of_lambda(" << lambdas[i] << ") = " << process->t_of_lambda(lambdas[i])
        << " on the host, " << times_back[i] << " as a tensor";
}

// (b) lambda(t_of_lambda(l)) = l and t_of_lambda(lambda(t)) = t; lambda falls with t.
TEST_P(ProcessKind, LambdaAndItsInverseRoundTrip) {
  const auto times = probe_times(*process, 41, 0.0, 1.0);
  const auto lambdas = values_of(process->lambda(as_tensor(times)));
  const auto times_back = values_of(process->t_of_lambda(as_tensor(lambdas)));
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (!std::isfinite(lambdas[i])) continue;  // rf at t = 1: alpha = 0, lambda = -inf
    EXPECT_NEAR(times_back[i], times[i], 1e-9 * times[i]) << "t = " << times[i];
  }
  // Uniform lambdas over the process's range (rf: up to 0.999 of it, lambda(1) = -inf).
  const double l_hi = process->lambda(process->t_min());
  double l_lo = process->lambda(process->t_max());
  if (!std::isfinite(l_lo))
    l_lo = process->lambda(process->t_min() + 0.999 * (process->t_max() - process->t_min()));
  std::vector<double> grid;
  for (int i = 0; i <= 40; ++i) grid.push_back(l_hi + (l_lo - l_hi) * i / 40.0);
  const auto t_of = values_of(process->t_of_lambda(as_tensor(grid)));
  const auto grid_back = values_of(process->lambda(as_tensor(t_of)));
  for (std::size_t i = 0; i < grid.size(); ++i) {
    EXPECT_NEAR(grid_back[i], grid[i], 1e-9 * std::max(1.0, std::abs(grid[i])))
        << "lambda = " << grid[i];
    if (i > 0) {
      EXPECT_GT(t_of[i], t_of[i - 1]) << "t_of_lambda must fall with lambda";
    }
  }
}

// (c) Derivatives against central differences, to 1e-6 relative plus the differences' own
// rounding noise (1e-15 |u| / h: u evaluated to a few ulps). Continuous kinds: h is 1e-4 of the
// distance to the ends of [t_min, t_max]; discrete kinds: segment midpoints and h = 1e-3 / N,
// so t +- h stay between the same two knots, where log alpha is linear.
struct Difference {
  double value, noise;
};

Difference central(const std::function<double(double)>& u, double t, double h) {
  const double up = u(t + h), down = u(t - h);
  return {(up - down) / (2 * h), 1e-15 * std::max(std::abs(up), std::abs(down)) / h};
}

TEST_P(ProcessKind, DerivativesMatchFiniteDifferences) {
  const auto& p = *process;
  std::vector<double> times, steps;
  if (const auto n = p.num_discrete_steps()) {
    for (const int i : {1, 2, 5, 10, 100, 500, *n - 2}) {
      times.push_back((i + 0.5) / *n);
      steps.push_back(1e-3 / *n);
    }
  } else {
    times = probe_times(p, 21, 0.05, 0.95);
    for (const double t : times) steps.push_back(1e-4 * std::min(t - p.t_min(), p.t_max() - t));
  }
  double worst = 0;
  const auto expect_close = [&](double value, Difference fd, const char* what, double t) {
    const double error = std::abs(value - fd.value);
    if (fd.value != 0) worst = std::max(worst, error / std::abs(fd.value));
    EXPECT_LE(error, 1e-6 * std::abs(fd.value) + fd.noise)
        << what << " at t = " << t << ": " << value << " vs finite difference " << fd.value;
  };
  for (std::size_t i = 0; i < times.size(); ++i) {
    const double t = times[i], h = steps[i];
    const auto sigma2 = [&](double s) { return std::pow(p.sigma(s), 2); };
    const auto f_fd = central([&](double s) { return p.log_alpha(s); }, t, h);
    expect_close(p.f(t), f_fd, "f = d log alpha / dt", t);
    expect_close(p.dsigma_dt(t), central([&](double s) { return p.sigma(s); }, t, h),
                 "d sigma / dt", t);
    expect_close(p.dalpha_dt(t), central([&](double s) { return p.alpha(s); }, t, h),
                 "d alpha / dt", t);
    // g^2 = d sigma^2 / dt - 2 f sigma^2, every derivative a finite difference.
    const auto s2_fd = central(sigma2, t, h);
    const Difference g2_fd = {s2_fd.value - 2 * f_fd.value * sigma2(t),
                              s2_fd.noise + 2 * f_fd.noise * sigma2(t)};
    expect_close(p.g2(t), g2_fd, "g^2", t);
    EXPECT_GT(p.g2(t), 0.0) << "t = " << t;
  }
  RecordProperty("max_relative_error", scientific(worst));
}

// (d) Euler-Maruyama on the forward SDE dx = f x dt + g dW from x_{t_min} = alpha x0 +
// sigma eps: the sample mean and variance at a middle time and at the end must match alpha x0
// and sigma^2. Split in two: (1) statistics: the samples against the EM chain's own exact
// moments m_{k+1} = (1 + f dt) m_k, v_{k+1} = (1 + f dt)^2 v_k + g^2 dt, within 5 standard
// errors; (2) discretisation: those moments against alpha x0 and sigma^2 within 2% (EM is first
// order; with 1000 steps the worst kind is at 0.85%). Steps are even in lambda, so every step's
// |f dt| and relative change of sigma^2 stay small even where sigma spans decades (ve, edm) or
// f blows up (vp-cosine near t = 1). rf stops at 0.99 of its range: f, g^2 ~ 1 / (1 - t).
TEST_P(ProcessKind, ForwardSdeReproducesTheMarginals) {
  const auto& p = *process;
  const int steps = 1000;
  const int64_t n = 20000;
  const double x0 = 1.5;
  double t_last = p.t_max();
  if (!std::isfinite(p.f(t_last)))  // rf: f and g^2 blow up where alpha = 0
    t_last = p.t_min() + 0.99 * (p.t_max() - p.t_min());
  auto grid = logsnr_grid(p, t_last, p.t_min(), steps);
  std::reverse(grid.begin(), grid.end());

  auto generator = at::detail::createCPUGenerator(20240617);
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  double m = p.alpha(grid[0]) * x0, v = std::pow(p.sigma(grid[0]), 2);
  auto x = m + p.sigma(grid[0]) * torch::randn({n}, generator, options);
  int checked = 0;
  double worst_z = 0, worst_discretisation = 0;
  const auto fs = values_of(p.f(as_tensor(grid))), g2s = values_of(p.g2(as_tensor(grid)));
  for (int k = 0; k < steps; ++k) {
    const double dt = grid[k + 1] - grid[k], f = fs[k], g2 = g2s[k];
    x.mul_(1 + f * dt).add_(torch::randn({n}, generator, options), std::sqrt(g2 * dt));
    m *= 1 + f * dt;
    v = (1 + f * dt) * (1 + f * dt) * v + g2 * dt;
    if (k + 1 != steps / 2 && k + 1 != steps) continue;
    const double t = grid[k + 1], mean = x.mean().item<double>(), var = x.var().item<double>();
    EXPECT_NEAR(mean, m, 5 * std::sqrt(v / n)) << "sample mean at t = " << t;
    EXPECT_NEAR(var, v, 5 * v * std::sqrt(2.0 / (n - 1))) << "sample variance at t = " << t;
    const double mean_exact = p.alpha(t) * x0, var_exact = std::pow(p.sigma(t), 2);
    EXPECT_NEAR(m, mean_exact, 0.02 * std::sqrt(var_exact + mean_exact * mean_exact))
        << "EM mean at t = " << t;
    EXPECT_NEAR(v, var_exact, 0.02 * var_exact) << "EM variance at t = " << t;
    worst_z = std::max({worst_z, std::abs(mean - m) / std::sqrt(v / n),
                        std::abs(var - v) / (v * std::sqrt(2.0 / (n - 1)))});
    worst_discretisation =
        std::max({worst_discretisation, std::abs(v / var_exact - 1),
                  std::abs(m - mean_exact) / std::sqrt(var_exact + mean_exact * mean_exact)});
    ++checked;
  }
  EXPECT_EQ(checked, 2);
  RecordProperty("max_standard_errors", scientific(worst_z));
  RecordProperty("max_discretisation_error", scientific(worst_discretisation));
}

// (e) float32 in, float32 out, equal to float64 (run on the same float32 inputs x) to 1e-6 of
// max(|v|, |x dv/dx|): rounding x to float32 alone moves v by up to 6e-8 |x dv/dx|, so where v
// is ill-conditioned (vp-cosine's alpha near t = 1, ve-geometric's t_of_lambda near t = 0)
// the scale is that change rather than |v|. dv/dx is a float64 central difference.
TEST_P(ProcessKind, Float32AgreesWithFloat64) {
  const auto& p = *process;
  const auto t32 = as_tensor(probe_times(p, 41, 0.0, 1.0)).to(torch::kFloat32);
  const auto t64 = t32.to(torch::kFloat64);
  using Method = torch::Tensor (ForwardProcess::*)(const torch::Tensor&) const;
  const std::vector<std::pair<const char*, Method>> methods = {
      {"alpha", &ForwardProcess::alpha},         {"sigma", &ForwardProcess::sigma},
      {"lambda", &ForwardProcess::lambda},       {"f", &ForwardProcess::f},
      {"dsigma_dt", &ForwardProcess::dsigma_dt}, {"g2", &ForwardProcess::g2},
      {"t_of_lambda", &ForwardProcess::t_of_lambda}};
  double worst = 0;
  for (const auto& [name, method] : methods) {
    // t_of_lambda is probed at float32 lambdas of the same times; the others at the times,
    // their differences kept inside [t_min, t_max].
    const bool inverse = std::string(name) == "t_of_lambda";
    const auto x32 = inverse ? p.lambda(t64).to(torch::kFloat32) : t32;
    const auto x = x32.to(torch::kFloat64);
    const auto out32 = (p.*method)(x32);
    EXPECT_EQ(out32.scalar_type(), torch::kFloat32) << name;
    const auto h = 1e-6 * x.abs() + 1e-12;
    const auto up = inverse ? x + h : (x + h).clamp_max(p.t_max());
    const auto down = inverse ? x - h : (x - h).clamp_min(p.t_min());
    const auto slope = ((p.*method)(up) - (p.*method)(down)) / (up - down);
    const auto got = values_of(out32), want = values_of((p.*method)(x));
    const auto change = values_of((x * slope).abs()), at = values_of(t64);
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (!std::isfinite(want[i])) continue;  // rf at t = 1: lambda, f, g^2 are infinite
      const double scale = std::max({std::abs(want[i]), change[i], 1e-300});
      const double error = std::abs(got[i] - want[i]) / scale;
      worst = std::max(worst, error);
      EXPECT_LE(error, 1e-6) << name << " at t = " << at[i] << ": " << got[i] << " vs "
                             << want[i] << " (scale " << scale << ")";
    }
  }
  RecordProperty("max_relative_error", scientific(worst));
}

std::string process_kind_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Process, ProcessKind, ::testing::ValuesIn(process_kinds()), process_kind_name);

TEST(Process, VpKindsAreExactlyTheVpFamily) {
  for (const auto& kind : process_kinds()) {
    const bool vp = kind.rfind("vp-", 0) == 0 || kind.rfind("ddpm", 0) == 0;
    EXPECT_EQ(process_of(kind)->variance_preserving(), vp) << kind;
    EXPECT_EQ(process_of(kind)->name(), kind);
  }
}

// alpha and sigma of the continuous kinds against the process table of docs/design.md, with
// default parameters.
TEST(Process, ContinuousKindsMatchTheDesignTable) {
  const double s = 0.008, b0 = 0.1, b1 = 20;
  const auto cosine = [&](double t) { return std::cos((t + s) / (1 + s) * M_PI / 2); };
  const auto vp_sigma = [](double alpha) { return std::sqrt(1 - alpha * alpha); };
  struct Row {
    const char* kind;
    std::function<double(double)> alpha, sigma;
  };
  const std::vector<Row> rows = {
      {"vp-linear", [&](double t) { return std::exp(-(b1 - b0) * t * t / 4 - b0 * t / 2); }, {}},
      {"vp-cosine", [&](double t) { return cosine(t) / cosine(0); }, {}},
      {"vp-ou", [](double t) { return std::exp(-t); }, {}},
      {"ve", [](double) { return 1.0; }, [](double t) { return std::sqrt(t); }},
      {"ve-geometric", [](double) { return 1.0; },
       [](double t) { return 0.01 * std::pow(50 / 0.01, t); }},
      {"edm", [](double) { return 1.0; }, [](double t) { return t; }},
      {"rf", [](double t) { return 1 - t; }, [](double t) { return t; }},
  };
  for (const auto& row : rows) {
    const auto process = process_of(row.kind);
    for (const double t : probe_times(*process, 9, 0.0, 1.0)) {
      const double alpha = row.alpha(t);
      const double sigma = row.sigma ? row.sigma(t) : vp_sigma(alpha);
      EXPECT_NEAR(process->alpha(t), alpha, 1e-12 * alpha + 1e-300) << row.kind << " t = " << t;
      EXPECT_NEAR(process->sigma(t), sigma, 1e-10 * sigma) << row.kind << " t = " << t;
    }
  }
}

// (f) ddpm-theory (Li, Wei, Chen, Chi), written out from docs/design.md with T = N = 1000, c0 = 2,
// c1 = 4: 1 - alpha_1 = T^-c0, 1 - alpha_t = (c1 log T / T) min{(1 - alpha_1)(1 + c1 log T /
// T)^t, 1}, abar_t = prod_{j <= t} alpha_j; the process's alpha(i/N)^2 is abar_i.
TEST(Process, DdpmTheoryAlphaBarFollowsTheFormula) {
  const double big_t = 1000, c0 = 2, c1 = 4;
  const double rate = c1 * std::log(big_t) / big_t, one_minus_alpha_1 = std::pow(big_t, -c0);
  std::vector<double> alpha_bar = {1.0 - one_minus_alpha_1};
  for (int t = 2; t <= 1000; ++t) {
    const double one_minus_alpha =
        rate * std::min(one_minus_alpha_1 * std::pow(1 + rate, double(t)), 1.0);
    alpha_bar.push_back(alpha_bar.back() * (1 - one_minus_alpha));
  }
  // By hand: abar_1 = 1 - 1e-6; abar_2 = abar_1 (1 - r 1e-6 (1 + r)^2), r = 4 ln(1000) / 1000.
  const double r = 4 * std::log(1000.0) / 1000;
  EXPECT_DOUBLE_EQ(alpha_bar[0], 0.999999);
  EXPECT_DOUBLE_EQ(alpha_bar[1], 0.999999 * (1 - r * 1e-6 * (1 + r) * (1 + r)));

  ProcessConfig config;
  config.kind = "ddpm-theory";
  config.num_steps = 1000;
  config.c0 = 2;
  config.c1 = 4;
  const auto process = make_process(config);
  for (const int i : {1, 2, 10, 500, 1000}) {
    const double a = process->alpha(i / 1000.0);
    EXPECT_NEAR(a * a, alpha_bar[i - 1], 1e-12 * alpha_bar[i - 1]) << "i = " << i;
  }
}

// Ho et al.'s linear betas 1e-4..0.02 over N = 1000: abar_i = prod_{j <= i} (1 - beta_j).
TEST(Process, DdpmAlphaBarOfLinearBetas) {
  std::vector<double> alpha_bar;
  double product = 1;
  for (int j = 1; j <= 1000; ++j) {
    product *= 1 - (1e-4 + (0.02 - 1e-4) * (j - 1) / 999.0);
    alpha_bar.push_back(product);
  }
  EXPECT_NEAR(alpha_bar[999], 4.0358e-5, 1e-9);  // the well-known abar_T of DDPM
  const auto process = process_of("ddpm");
  EXPECT_EQ(process->num_discrete_steps(), 1000);
  for (const int i : {1, 2, 10, 500, 1000}) {
    const double a = process->alpha(i / 1000.0);
    EXPECT_NEAR(a * a, alpha_bar[i - 1], 1e-12 * alpha_bar[i - 1]) << "i = " << i;
  }
  EXPECT_DOUBLE_EQ(std::pow(process->alpha(0.001), 2), 0.9999);
  EXPECT_FALSE(process_of("vp-linear")->num_discrete_steps().has_value());
}

// (g) make_process's errors name the field.
void expect_process_error(const ProcessConfig& config, const std::string& needle) {
  try {
    make_process(config);
    ADD_FAILURE() << "no InputError for kind " << config.kind;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Process, MakeProcessErrorsNameTheField) {
  ProcessConfig unknown;
  unknown.kind = "vp-quartic";
  expect_process_error(unknown, "process.kind");

  ProcessConfig unused;
  unused.kind = "edm";
  unused.beta_min = 0.1;
  expect_process_error(unused, "process.beta_min");
  unused.kind = "vp-linear";
  unused.beta_min.reset();
  unused.num_steps = 10;
  expect_process_error(unused, "process.num_steps");

  ProcessConfig reversed;
  reversed.kind = "vp-linear";
  reversed.t_min = 0.5;
  reversed.t_max = 0.5;
  expect_process_error(reversed, "t_min");
  reversed.kind = "edm";
  reversed.t_min = 10.0;
  reversed.t_max = 1.0;
  expect_process_error(reversed, "t_min");
  ProcessConfig too_far;
  too_far.kind = "vp-cosine";
  too_far.t_max = 1.0;  // alpha(1) = 0
  expect_process_error(too_far, "t_max");

  ProcessConfig betas;
  betas.kind = "ddpm";
  betas.beta_min = 0.02;
  betas.beta_max = 1e-4;
  expect_process_error(betas, "beta_min");
}

TEST(Process, ConfigLoadsStrictly) {
  const auto config = config::load<ProcessConfig>(YAML::Load("{kind: ddpm, num_steps: 50}"));
  EXPECT_EQ(make_process(config)->num_discrete_steps(), 50);
  try {
    config::load<ProcessConfig>(YAML::Load("{kind: ve, sigma: 3}"), "process");
    ADD_FAILURE() << "unknown key accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("process.sigma"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace diffuse
