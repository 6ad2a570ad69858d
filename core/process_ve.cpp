// Processes without a shrinking mean (alpha = 1): the theory's VE, the NCSN geometric VE and EDM.
// And rectified flow (alpha = 1 - t, sigma = t).
#include "core/errors.h"
#include "core/process_kinds.h"

#include <cmath>

namespace diffuse {

namespace {

class AlphaOne : public ForwardProcess {
 public:
  using ForwardProcess::ForwardProcess;
  torch::Tensor log_alpha(const torch::Tensor& t) const override { return torch::zeros_like(t); }
  torch::Tensor f(const torch::Tensor& t) const override { return torch::zeros_like(t); }
  torch::Tensor lambda(const torch::Tensor& t) const override { return -sigma(t).log(); }
};

// SMLD's VE in the theory's form: sigma(t)^2 = t, so g^2 = 1.
class Ve final : public AlphaOne {
 public:
  using AlphaOne::AlphaOne;
  std::string name() const override { return "ve"; }
  torch::Tensor sigma(const torch::Tensor& t) const override { return t.sqrt(); }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return 0.5 / t.sqrt(); }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override { return (-2.0 * l).exp(); }
};

// NCSN / score SDE: sigma(t) = sigma_min (sigma_max / sigma_min)^t.
class VeGeometric final : public AlphaOne {
 public:
  VeGeometric(double sigma_min, double sigma_max, double t_min, double t_max)
      : AlphaOne(t_min, t_max),
        log_sigma_min_(std::log(sigma_min)),
        log_ratio_(std::log(sigma_max / sigma_min)) {}
  std::string name() const override { return "ve-geometric"; }
  torch::Tensor sigma(const torch::Tensor& t) const override {
    return (log_sigma_min_ + log_ratio_ * t).exp();
  }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return sigma(t) * log_ratio_; }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override {
    return (-l - log_sigma_min_) / log_ratio_;
  }

 private:
  double log_sigma_min_, log_ratio_;
};

// Karras et al.'s EDM: t is sigma itself.
class Edm final : public AlphaOne {
 public:
  using AlphaOne::AlphaOne;
  std::string name() const override { return "edm"; }
  torch::Tensor sigma(const torch::Tensor& t) const override { return t.clone(); }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return torch::ones_like(t); }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override { return (-l).exp(); }
};

// Rectified flow / flow matching: the straight path x_t = (1 - t) x_0 + t eps.
class RectifiedFlow final : public ForwardProcess {
 public:
  using ForwardProcess::ForwardProcess;
  std::string name() const override { return "rf"; }
  torch::Tensor log_alpha(const torch::Tensor& t) const override { return torch::log1p(-t); }
  torch::Tensor sigma(const torch::Tensor& t) const override { return t.clone(); }
  torch::Tensor f(const torch::Tensor& t) const override { return -1.0 / (1.0 - t); }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return torch::ones_like(t); }
  torch::Tensor lambda(const torch::Tensor& t) const override {
    return torch::log1p(-t) - t.log();
  }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override { return torch::sigmoid(-l); }
};

}  // namespace

ProcessPtr make_ve(double t_min, double t_max) {
  check_time_range("ve", t_min, t_max, 0.0, 1e12);
  return std::make_shared<Ve>(t_min, t_max);
}

ProcessPtr make_ve_geometric(double sigma_min, double sigma_max, double t_min, double t_max) {
  // sigma(0) = sigma_min > 0, so t = 0 is a valid endpoint here.
  check_time_range("ve-geometric", t_min, t_max, 0.0, 1.0, /*low_inclusive=*/true);
  return std::make_shared<VeGeometric>(sigma_min, sigma_max, t_min, t_max);
}

ProcessPtr make_edm(double t_min, double t_max) {
  check_time_range("edm", t_min, t_max, 0.0, 1e12);
  return std::make_shared<Edm>(t_min, t_max);
}

ProcessPtr make_rf(double t_min, double t_max) {
  // At t = 1 alpha = 0: lambda = -inf and f, g^2 blow up, yet x_1 = eps is the exact prior.
  check_time_range("rf", t_min, t_max, 0.0, 1.0);
  return std::make_shared<RectifiedFlow>(t_min, t_max);
}

}  // namespace diffuse
