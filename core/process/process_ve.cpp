// Processes without a shrinking mean (alpha = 1): the theory's VE, the NCSN geometric VE and EDM.
// And rectified flow (alpha = 1 - t, sigma = t).
#include "core/base/errors.h"
#include "core/base/number.h"
#include "core/process/process_kinds.h"

#include <cmath>

namespace diffuse {

namespace {

class AlphaOne : public ForwardProcess {
 public:
  using ForwardProcess::ForwardProcess;
  torch::Tensor log_alpha(const torch::Tensor& t) const override { return torch::zeros_like(t); }
  double log_alpha(double) const override { return 0.0; }
  torch::Tensor f(const torch::Tensor& t) const override { return torch::zeros_like(t); }
  double f(double) const override { return 0.0; }
  torch::Tensor lambda(const torch::Tensor& t) const override { return -sigma(t).log(); }
  double lambda(double t) const override { return -std::log(sigma(t)); }
};

// SMLD's VE in the theory's form: sigma(t)^2 = t, so g^2 = 1.
class Ve final : public AlphaOne {
 public:
  using AlphaOne::AlphaOne;
  std::string name() const override { return "ve"; }
  torch::Tensor sigma(const torch::Tensor& t) const override { return t.sqrt(); }
  double sigma(double t) const override { return std::sqrt(t); }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return 0.5 / t.sqrt(); }
  double dsigma_dt(double t) const override { return 0.5 / std::sqrt(t); }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override { return (-2.0 * l).exp(); }
  double t_of_lambda(double l) const override { return std::exp(-2.0 * l); }
};

// NCSN / score SDE: sigma(t) = sigma_min (sigma_max / sigma_min)^t.
class VeGeometric final : public AlphaOne {
 public:
  VeGeometric(double sigma_min, double sigma_max, double t_min, double t_max)
      : AlphaOne(t_min, t_max),
        log_sigma_min_(std::log(sigma_min)),
        log_ratio_(std::log(sigma_max / sigma_min)) {}
  std::string name() const override { return "ve-geometric"; }
  torch::Tensor sigma(const torch::Tensor& t) const override { return sigma_of(t); }
  double sigma(double t) const override { return sigma_of(t); }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return sigma(t) * log_ratio_; }
  double dsigma_dt(double t) const override { return sigma(t) * log_ratio_; }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override { return t_of(l); }
  double t_of_lambda(double l) const override { return t_of(l); }

 private:
  template <class T>
  T sigma_of(const T& t) const {
    return number::exp(log_sigma_min_ + log_ratio_ * t);
  }
  template <class T>
  T t_of(const T& l) const {
    return (-l - log_sigma_min_) / log_ratio_;
  }

  double log_sigma_min_, log_ratio_;
};

// Karras et al.'s EDM: t is sigma itself.
class Edm final : public AlphaOne {
 public:
  using AlphaOne::AlphaOne;
  std::string name() const override { return "edm"; }
  torch::Tensor sigma(const torch::Tensor& t) const override { return t.clone(); }
  double sigma(double t) const override { return t; }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return torch::ones_like(t); }
  double dsigma_dt(double) const override { return 1.0; }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override { return (-l).exp(); }
  double t_of_lambda(double l) const override { return std::exp(-l); }
};

// Rectified flow / flow matching: the straight path x_t = (1 - t) x_0 + t eps.
class RectifiedFlow final : public ForwardProcess {
 public:
  using ForwardProcess::ForwardProcess;
  std::string name() const override { return "rf"; }
  torch::Tensor log_alpha(const torch::Tensor& t) const override { return torch::log1p(-t); }
  double log_alpha(double t) const override { return std::log1p(-t); }
  torch::Tensor sigma(const torch::Tensor& t) const override { return t.clone(); }
  double sigma(double t) const override { return t; }
  torch::Tensor f(const torch::Tensor& t) const override { return -1.0 / (1.0 - t); }
  double f(double t) const override { return -1.0 / (1.0 - t); }
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override { return torch::ones_like(t); }
  double dsigma_dt(double) const override { return 1.0; }
  torch::Tensor lambda(const torch::Tensor& t) const override { return lambda_of(t); }
  double lambda(double t) const override { return lambda_of(t); }
  torch::Tensor t_of_lambda(const torch::Tensor& l) const override { return torch::sigmoid(-l); }
  double t_of_lambda(double l) const override { return number::sigmoid(-l); }

 private:
  template <class T>
  T lambda_of(const T& t) const {
    return number::log1p(-t) - number::log(t);
  }
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
