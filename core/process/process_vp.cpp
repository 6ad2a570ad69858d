// The continuous variance-preserving processes: sigma = sqrt(1 - alpha^2), so everything
// follows from log alpha(t), its derivative and its inverse.
#include "core/process/process_vp.h"

#include "core/base/errors.h"
#include "core/base/number.h"
#include "core/process/process_kinds.h"

#include <cmath>

namespace diffuse {

namespace {

template <class T>
T vp_sigma(const VpProcess& p, const T& t) {
  return number::sqrt(-number::expm1(2.0 * p.log_alpha(t)));
}

// sigma^2 = 1 - alpha^2  =>  sigma' = -alpha^2 f / sigma.
template <class T>
T vp_dsigma_dt(const VpProcess& p, const T& t) {
  return -number::exp(2.0 * p.log_alpha(t)) * p.f(t) / p.sigma(t);
}

template <class T>
T vp_lambda(const VpProcess& p, const T& t) {
  const T la = p.log_alpha(t);
  return la - 0.5 * number::log(-number::expm1(2.0 * la));
}

// alpha^2 = sigmoid(2 lambda)  =>  log alpha = log sigmoid(2 lambda) / 2. (Not logaddexp:
// LibTorch 1.13 computes it as log(1 + exp(.)), which loses log alpha near alpha = 1.)
template <class T>
T vp_t_of_lambda(const VpProcess& p, const T& l) {
  return p.t_of_log_alpha(0.5 * number::log_sigmoid(2.0 * l));
}

}  // namespace

torch::Tensor VpProcess::sigma(const torch::Tensor& t) const { return vp_sigma(*this, t); }
double VpProcess::sigma(double t) const { return vp_sigma(*this, t); }
torch::Tensor VpProcess::dsigma_dt(const torch::Tensor& t) const { return vp_dsigma_dt(*this, t); }
double VpProcess::dsigma_dt(double t) const { return vp_dsigma_dt(*this, t); }
torch::Tensor VpProcess::lambda(const torch::Tensor& t) const { return vp_lambda(*this, t); }
double VpProcess::lambda(double t) const { return vp_lambda(*this, t); }
torch::Tensor VpProcess::t_of_lambda(const torch::Tensor& l) const {
  return vp_t_of_lambda(*this, l);
}
double VpProcess::t_of_lambda(double l) const { return vp_t_of_lambda(*this, l); }
double VpProcess::t_of_log_alpha(double la) const {
  return t_of_log_alpha(torch::tensor(la, torch::kFloat64)).item<double>();
}

namespace {

// A continuous VP kind whose log alpha, f and inverse are templated formulas log_alpha_of, f_of
// and t_of: both overloads of each method forward to the one formula.
template <class Kind>
class VpFormulas : public VpProcess {
 public:
  using VpProcess::VpProcess;
  torch::Tensor log_alpha(const torch::Tensor& t) const override {
    return kind().log_alpha_of(t);
  }
  double log_alpha(double t) const override { return kind().log_alpha_of(t); }
  torch::Tensor f(const torch::Tensor& t) const override { return kind().f_of(t); }
  double f(double t) const override { return kind().f_of(t); }
  torch::Tensor t_of_log_alpha(const torch::Tensor& la) const override { return kind().t_of(la); }
  double t_of_log_alpha(double la) const override { return kind().t_of(la); }

 private:
  const Kind& kind() const { return static_cast<const Kind&>(*this); }
};

// Score SDE / DPM-Solver's continuous VP: beta(t) = b0 + (b1 - b0) t.
class VpLinear final : public VpFormulas<VpLinear> {
 public:
  VpLinear(double b0, double b1, double t_min, double t_max)
      : VpFormulas(t_min, t_max), b0_(b0), b1_(b1) {}
  std::string name() const override { return "vp-linear"; }

  // The formulas, each for tensors and doubles (VpFormulas forwards to them).
  template <class T>
  T log_alpha_of(const T& t) const {
    return -0.25 * (b1_ - b0_) * t * t - 0.5 * b0_ * t;
  }
  template <class T>
  T f_of(const T& t) const {
    return -0.5 * (b1_ - b0_) * t - 0.5 * b0_;
  }
  // Positive root of (b1-b0)/4 t^2 + b0/2 t + la = 0, in DPM-Solver's cancellation-free form.
  template <class T>
  T t_of(const T& la) const {
    return -4.0 * la / (number::sqrt(b0_ * b0_ - 4.0 * (b1_ - b0_) * la) + b0_);
  }

 private:
  double b0_, b1_;
};

// Nichol & Dhariwal's cosine schedule: alpha(t) = cos(a0 + d) / cos(a0) with a0 = s/(1+s) pi/2,
// d = t/(1+s) pi/2. Written in d so that float32 keeps log alpha where alpha is close to 1:
// cos(a0 + d) / cos(a0) = 1 - 2 sin^2(d/2) - tan(a0) sin d.
class VpCosine final : public VpFormulas<VpCosine> {
 public:
  VpCosine(double s, double t_min, double t_max)
      : VpFormulas(t_min, t_max), s_(s), tan_a0_(std::tan(s / (1 + s) * M_PI_2)) {}
  std::string name() const override { return "vp-cosine"; }

  // The formulas, each for tensors and doubles (VpFormulas forwards to them).
  template <class T>
  T log_alpha_of(const T& t) const {
    const T d = t * (M_PI_2 / (1 + s_));
    const T half_sine = number::sin(0.5 * d);
    return number::log1p(-2.0 * half_sine * half_sine - tan_a0_ * number::sin(d));
  }
  template <class T>
  T f_of(const T& t) const {
    return -M_PI_2 / (1 + s_) * number::tan((t + s_) * (M_PI_2 / (1 + s_)));
  }
  // With u = tan(d/2): (1 + alpha) u^2 + 2 tan(a0) u - (1 - alpha) = 0; its positive root in
  // cancellation-free form is u = (1 - alpha) / (tan(a0) + sqrt(tan(a0)^2 + 1 - alpha^2)).
  template <class T>
  T t_of(const T& la) const {
    const T one_minus_alpha = -number::expm1(la), one_minus_alpha2 = -number::expm1(2.0 * la);
    const T u = one_minus_alpha / (tan_a0_ + number::sqrt(tan_a0_ * tan_a0_ + one_minus_alpha2));
    return number::atan(u) * (4.0 * (1 + s_) / M_PI);
  }

 private:
  double s_, tan_a0_;
};

// The constant-rate Ornstein-Uhlenbeck process of the sampling-complexity theory: alpha = e^-t.
class VpOu final : public VpProcess {
 public:
  using VpProcess::VpProcess;
  std::string name() const override { return "vp-ou"; }
  torch::Tensor log_alpha(const torch::Tensor& t) const override { return -t; }
  double log_alpha(double t) const override { return -t; }
  torch::Tensor f(const torch::Tensor& t) const override { return -torch::ones_like(t); }
  double f(double) const override { return -1.0; }
  torch::Tensor t_of_log_alpha(const torch::Tensor& la) const override { return -la; }
  double t_of_log_alpha(double la) const override { return -la; }
};

}  // namespace

void check_time_range(const char* kind, double t_min, double t_max, double low, double high,
                      bool low_inclusive) {
  const bool low_ok = low_inclusive ? t_min >= low : t_min > low;
  if (!low_ok || !(t_min < t_max) || !(t_max <= high)) {
    throw InputError(std::string("config: process '") + kind + "' needs " +
                     std::to_string(low) + (low_inclusive ? " <= " : " < ") +
                     "t_min < t_max <= " + std::to_string(high) + ", got t_min = " +
                     std::to_string(t_min) + ", t_max = " + std::to_string(t_max));
  }
}

ProcessPtr make_vp_linear(double b0, double b1, double t_min, double t_max) {
  check_time_range("vp-linear", t_min, t_max, 0.0, 1e6);
  return std::make_shared<VpLinear>(b0, b1, t_min, t_max);
}

ProcessPtr make_vp_cosine(double s, double t_min, double t_max) {
  // alpha reaches 0 at t = 1: the schedule is singular there (DPM-Solver stops at 0.9946).
  check_time_range("vp-cosine", t_min, t_max, 0.0, 0.9999);
  return std::make_shared<VpCosine>(s, t_min, t_max);
}

ProcessPtr make_vp_ou(double t_min, double t_max) {
  check_time_range("vp-ou", t_min, t_max, 0.0, 1e6);
  return std::make_shared<VpOu>(t_min, t_max);
}

}  // namespace diffuse
