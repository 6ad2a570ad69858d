// Forward processes: x_t = alpha(t) x_0 + sigma(t) eps, eps ~ N(0, I) (docs/design.md, "The one
// forward-process picture"). A process is a small immutable value behind one interface; every
// quantity a sampler or loss needs follows from alpha and sigma.
//
//   auto process = diffuse::make_process({.kind = "vp-linear"});
//   torch::Tensor t = torch::rand({128}, torch::kFloat64);
//   auto x_t = process->alpha(t) * x0 + process->sigma(t) * eps;   // t broadcast by the caller
//
// Tensor methods are elementwise over t (any shape, float32 or float64, any device); the double
// overloads compute on the host in float64 and are what samplers use for step coefficients.
#pragma once

#include "core/base/config.h"

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace diffuse {

class ForwardProcess {
 public:
  ForwardProcess(double t_min, double t_max);  // the class is abstract; for subclasses
  virtual ~ForwardProcess() = default;

  virtual std::string name() const = 0;
  double t_min() const { return t_min_; }
  double t_max() const { return t_max_; }
  // True when alpha^2 + sigma^2 = 1 for every t (the VP family).
  virtual bool variance_preserving() const { return false; }
  // N for the discrete schedules (ddpm, ddpm-theory), whose knots sit at t = i/N, i = 1..N.
  virtual std::optional<int> num_discrete_steps() const { return std::nullopt; }

  virtual torch::Tensor log_alpha(const torch::Tensor& t) const = 0;
  virtual torch::Tensor sigma(const torch::Tensor& t) const = 0;
  // f(t) = d log alpha / dt, the drift coefficient of the forward SDE.
  virtual torch::Tensor f(const torch::Tensor& t) const = 0;
  virtual torch::Tensor dsigma_dt(const torch::Tensor& t) const = 0;
  // lambda(t) = log(alpha / sigma), the half log-SNR, and its inverse.
  virtual torch::Tensor lambda(const torch::Tensor& t) const;
  virtual torch::Tensor t_of_lambda(const torch::Tensor& lambda) const = 0;

  torch::Tensor alpha(const torch::Tensor& t) const { return log_alpha(t).exp(); }
  torch::Tensor dalpha_dt(const torch::Tensor& t) const { return alpha(t) * f(t); }
  // g^2(t) = d sigma^2/dt - 2 f(t) sigma^2, the squared diffusion coefficient.
  torch::Tensor g2(const torch::Tensor& t) const;

  // The prior x_{t_max} ~ N(0, prior_std^2 I): 1 for VP processes, sigma(t_max) otherwise.
  virtual double prior_std() const { return sigma(t_max_); }
  torch::Tensor prior_sample(at::IntArrayRef shape, const torch::TensorOptions& options,
                             at::Generator generator) const;

  // Host float64 versions for step coefficients. The continuous kinds compute them with the
  // same templated formulas as their tensor methods, in double arithmetic; the default goes
  // through a float64 host tensor (a few microseconds a call).
  virtual double log_alpha(double t) const;
  virtual double sigma(double t) const;
  virtual double f(double t) const;
  virtual double dsigma_dt(double t) const;
  virtual double lambda(double t) const;
  virtual double t_of_lambda(double lambda) const;
  double alpha(double t) const;
  double dalpha_dt(double t) const { return alpha(t) * f(t); }
  double g2(double t) const;

 private:
  double t_min_;
  double t_max_;
};

using ProcessPtr = std::shared_ptr<const ForwardProcess>;

// The names make_process accepts, in docs/design.md's order.
const std::vector<std::string>& process_kinds();

// What a run's `process:` section says. Unset fields take the kind's defaults (the process table
// of docs/design.md).
struct ProcessConfig {
  std::string kind = "vp-linear";
  std::optional<double> t_min, t_max;
  std::optional<double> beta_min, beta_max;    // vp-linear: rate b0, b1; ddpm: beta_1, beta_N
  std::optional<int> num_steps;                // ddpm, ddpm-theory: N (= T of the theory)
  std::optional<double> c0, c1;                // ddpm-theory constants
  std::optional<double> sigma_min, sigma_max;  // ve-geometric
  std::optional<double> cosine_s;              // vp-cosine offset s

  template <class V>
  void visit(V& v) {
    v("kind", kind, config::one_of(process_kinds()));
    v("t_min", t_min, config::at_least(0.0));
    v("t_max", t_max, config::greater_than(0.0));
    v("beta_min", beta_min, config::greater_than(0.0));
    v("beta_max", beta_max, config::greater_than(0.0));
    v("num_steps", num_steps, config::at_least(2));
    v("c0", c0, config::greater_than(0.0));
    v("c1", c1, config::greater_than(0.0));
    v("sigma_min", sigma_min, config::greater_than(0.0));
    v("sigma_max", sigma_max, config::greater_than(0.0));
    v("cosine_s", cosine_s, config::at_least(0.0));
  }
};

// Builds a process; throws InputError naming the bad field for an unknown kind, a parameter
// the kind does not use, or a value out of range.
ProcessPtr make_process(const ProcessConfig& config);

}  // namespace diffuse
