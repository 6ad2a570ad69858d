#include "core/process/process.h"

#include "core/base/errors.h"
#include "core/base/number.h"
#include "core/process/process_kinds.h"

#include <cmath>

namespace diffuse {

namespace {

torch::Tensor host(double value) { return torch::tensor(value, torch::kFloat64); }

template <class T>
T lambda_of(const ForwardProcess& p, const T& t) {
  return p.log_alpha(t) - number::log(p.sigma(t));
}

template <class T>
T g2_of(const ForwardProcess& p, const T& t) {
  const T s = p.sigma(t);
  return 2.0 * s * p.dsigma_dt(t) - 2.0 * p.f(t) * s * s;
}

}  // namespace

ForwardProcess::ForwardProcess(double t_min, double t_max) : t_min_(t_min), t_max_(t_max) {}

torch::Tensor ForwardProcess::lambda(const torch::Tensor& t) const { return lambda_of(*this, t); }
torch::Tensor ForwardProcess::g2(const torch::Tensor& t) const { return g2_of(*this, t); }

torch::Tensor ForwardProcess::prior_sample(at::IntArrayRef shape,
                                           const torch::TensorOptions& options,
                                           at::Generator generator) const {
  return torch::randn(shape, generator, options) * prior_std();
}

double ForwardProcess::log_alpha(double t) const { return log_alpha(host(t)).item<double>(); }
double ForwardProcess::sigma(double t) const { return sigma(host(t)).item<double>(); }
double ForwardProcess::f(double t) const { return f(host(t)).item<double>(); }
double ForwardProcess::dsigma_dt(double t) const { return dsigma_dt(host(t)).item<double>(); }
double ForwardProcess::lambda(double t) const { return lambda_of(*this, t); }
double ForwardProcess::t_of_lambda(double l) const { return t_of_lambda(host(l)).item<double>(); }
double ForwardProcess::alpha(double t) const { return std::exp(log_alpha(t)); }
double ForwardProcess::g2(double t) const { return g2_of(*this, t); }

const std::vector<std::string>& process_kinds() {
  static const std::vector<std::string> kinds = {"vp-linear", "vp-cosine", "vp-ou",
                                                 "ddpm",      "ddpm-theory", "ve",
                                                 "ve-geometric", "edm", "rf"};
  return kinds;
}

namespace {

// Which optional parameters each kind reads; any other one given is a config error.
std::vector<std::string> parameters_of(const std::string& kind) {
  if (kind == "vp-linear") return {"beta_min", "beta_max"};
  if (kind == "vp-cosine") return {"cosine_s"};
  if (kind == "ddpm") return {"beta_min", "beta_max", "num_steps"};
  if (kind == "ddpm-theory") return {"num_steps", "c0", "c1"};
  if (kind == "ve-geometric") return {"sigma_min", "sigma_max"};
  return {};
}

void reject_unused(const ProcessConfig& c) {
  const std::vector<std::pair<std::string, bool>> given = {
      {"beta_min", c.beta_min.has_value()},   {"beta_max", c.beta_max.has_value()},
      {"num_steps", c.num_steps.has_value()}, {"c0", c.c0.has_value()},
      {"c1", c.c1.has_value()},               {"sigma_min", c.sigma_min.has_value()},
      {"sigma_max", c.sigma_max.has_value()}, {"cosine_s", c.cosine_s.has_value()}};
  const auto used = parameters_of(c.kind);
  for (const auto& [name, is_set] : given) {
    if (!is_set || std::find(used.begin(), used.end(), name) != used.end()) continue;
    std::string list;
    for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
    throw InputError("config: process." + name + " is not a parameter of process '" + c.kind +
                     "' (its parameters: t_min, t_max" + (list.empty() ? "" : ", " + list) +
                     ")");
  }
}

}  // namespace

ProcessPtr make_process(const ProcessConfig& c) {
  reject_unused(c);
  const auto ordered = [](double low, double high, const char* what) {
    if (!(low < high))
      throw InputError(std::string("config: process.") + what + " must be increasing, got " +
                       std::to_string(low) + " and " + std::to_string(high));
  };
  const ProcessPtr p = [&]() -> ProcessPtr {
    const auto& k = c.kind;
    if (k == "vp-linear") {
      const double b0 = c.beta_min.value_or(0.1), b1 = c.beta_max.value_or(20.0);
      ordered(b0, b1, "beta_min < beta_max");
      return make_vp_linear(b0, b1, c.t_min.value_or(1e-3), c.t_max.value_or(1.0));
    }
    if (k == "vp-cosine")
      return make_vp_cosine(c.cosine_s.value_or(0.008), c.t_min.value_or(1e-3),
                            c.t_max.value_or(0.9946));
    if (k == "vp-ou") return make_vp_ou(c.t_min.value_or(1e-3), c.t_max.value_or(10.0));
    if (k == "ddpm") {
      const double b0 = c.beta_min.value_or(1e-4), b1 = c.beta_max.value_or(0.02);
      ordered(b0, b1, "beta_min < beta_max");
      if (b1 >= 1.0) throw InputError("config: process.beta_max must be < 1 for ddpm");
      const int n = c.num_steps.value_or(1000);
      return make_ddpm(b0, b1, n, c.t_min.value_or(1.0 / n), c.t_max.value_or(1.0));
    }
    if (k == "ddpm-theory") {
      const int n = c.num_steps.value_or(1000);
      return make_ddpm_theory(n, c.c0.value_or(2.0), c.c1.value_or(4.0),
                              c.t_min.value_or(1.0 / n), c.t_max.value_or(1.0));
    }
    if (k == "ve") return make_ve(c.t_min.value_or(1e-3), c.t_max.value_or(100.0));
    if (k == "ve-geometric") {
      const double s0 = c.sigma_min.value_or(0.01), s1 = c.sigma_max.value_or(50.0);
      ordered(s0, s1, "sigma_min < sigma_max");
      return make_ve_geometric(s0, s1, c.t_min.value_or(1e-5), c.t_max.value_or(1.0));
    }
    if (k == "edm") return make_edm(c.t_min.value_or(0.002), c.t_max.value_or(80.0));
    // rf stops short of t = 1, where alpha = 0 and lambda = -inf (logSNR grids and DPM-Solver
    // need a finite lambda); the prior N(0, sigma(t_max)^2 I) then ignores alpha(t_max) x0 = 1e-3
    // x0.
    if (k == "rf") return make_rf(c.t_min.value_or(1e-3), c.t_max.value_or(1.0 - 1e-3));
    std::string list;
    for (const auto& name : process_kinds()) list += (list.empty() ? "" : ", ") + name;
    throw InputError("config: process.kind = '" + k + "': expected one of: " + list);
  }();
  ordered(p->t_min(), p->t_max(), "t_min < t_max");
  return p;
}

}  // namespace diffuse
