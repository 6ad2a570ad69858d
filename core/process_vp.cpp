// The continuous variance-preserving processes: sigma = sqrt(1 - alpha^2), so everything
// follows from log alpha(t), its derivative and its inverse.
#include "core/process_vp.h"

#include "core/errors.h"
#include "core/process_kinds.h"

#include <cmath>

namespace diffuse {

torch::Tensor VpProcess::sigma(const torch::Tensor& t) const {
  return (-torch::expm1(2.0 * log_alpha(t))).sqrt();
}

torch::Tensor VpProcess::dsigma_dt(const torch::Tensor& t) const {
  // sigma^2 = 1 - alpha^2  =>  sigma' = -alpha^2 f / sigma.
  return -(2.0 * log_alpha(t)).exp() * f(t) / sigma(t);
}

torch::Tensor VpProcess::lambda(const torch::Tensor& t) const {
  const auto la = log_alpha(t);
  return la - 0.5 * torch::log(-torch::expm1(2.0 * la));
}

torch::Tensor VpProcess::t_of_lambda(const torch::Tensor& l) const {
  // alpha^2 = sigmoid(2 lambda)  =>  log alpha = -log(1 + exp(-2 lambda)) / 2.
  return t_of_log_alpha(-0.5 * torch::logaddexp(torch::zeros_like(l), -2.0 * l));
}

namespace {

// Score SDE / DPM-Solver's continuous VP: beta(t) = b0 + (b1 - b0) t.
class VpLinear final : public VpProcess {
 public:
  VpLinear(double b0, double b1, double t_min, double t_max)
      : VpProcess(t_min, t_max), b0_(b0), b1_(b1) {}
  std::string name() const override { return "vp-linear"; }
  torch::Tensor log_alpha(const torch::Tensor& t) const override {
    return -0.25 * (b1_ - b0_) * t * t - 0.5 * b0_ * t;
  }
  torch::Tensor f(const torch::Tensor& t) const override {
    return -0.5 * (b1_ - b0_) * t - 0.5 * b0_;
  }
  torch::Tensor t_of_log_alpha(const torch::Tensor& la) const override {
    // Positive root of (b1-b0)/4 t^2 + b0/2 t + la = 0, in DPM-Solver's cancellation-free form.
    return -4.0 * la / ((b0_ * b0_ - 4.0 * (b1_ - b0_) * la).sqrt() + b0_);
  }

 private:
  double b0_, b1_;
};

// Nichol & Dhariwal's cosine schedule: alpha(t) = cos((t+s)/(1+s) pi/2) / cos(s/(1+s) pi/2).
class VpCosine final : public VpProcess {
 public:
  VpCosine(double s, double t_min, double t_max)
      : VpProcess(t_min, t_max), s_(s), log_alpha_0_(std::log(std::cos(s / (1 + s) * M_PI_2))) {}
  std::string name() const override { return "vp-cosine"; }
  torch::Tensor log_alpha(const torch::Tensor& t) const override {
    return torch::log(torch::cos(angle(t))) - log_alpha_0_;
  }
  torch::Tensor f(const torch::Tensor& t) const override {
    return -M_PI_2 / (1 + s_) * torch::tan(angle(t));
  }
  torch::Tensor t_of_log_alpha(const torch::Tensor& la) const override {
    return torch::acos((la + log_alpha_0_).exp()) * (2.0 * (1 + s_) / M_PI) - s_;
  }

 private:
  torch::Tensor angle(const torch::Tensor& t) const { return (t + s_) / (1 + s_) * M_PI_2; }
  double s_, log_alpha_0_;
};

// The constant-rate Ornstein-Uhlenbeck process of the sampling-complexity theory: alpha = e^-t.
class VpOu final : public VpProcess {
 public:
  using VpProcess::VpProcess;
  std::string name() const override { return "vp-ou"; }
  torch::Tensor log_alpha(const torch::Tensor& t) const override { return -t; }
  torch::Tensor f(const torch::Tensor& t) const override { return -torch::ones_like(t); }
  torch::Tensor t_of_log_alpha(const torch::Tensor& la) const override { return -la; }
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
