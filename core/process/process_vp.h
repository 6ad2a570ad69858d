// Base of the variance-preserving processes (alpha^2 + sigma^2 = 1): a subclass gives log alpha,
// its derivative f and its inverse; sigma, lambda and the rest follow here, each formula written
// once for tensors and host doubles (core/base/number.h).
#pragma once

#include "core/process/process.h"

namespace diffuse {

class VpProcess : public ForwardProcess {
 public:
  using ForwardProcess::ForwardProcess;
  bool variance_preserving() const override { return true; }
  double prior_std() const override { return 1.0; }
  torch::Tensor sigma(const torch::Tensor& t) const override;
  double sigma(double t) const override;
  torch::Tensor dsigma_dt(const torch::Tensor& t) const override;
  double dsigma_dt(double t) const override;
  torch::Tensor lambda(const torch::Tensor& t) const override;
  double lambda(double t) const override;
  torch::Tensor t_of_lambda(const torch::Tensor& lambda) const override;
  double t_of_lambda(double lambda) const override;
  virtual torch::Tensor t_of_log_alpha(const torch::Tensor& log_alpha) const = 0;
  virtual double t_of_log_alpha(double log_alpha) const;  // default: through a host tensor
};

}  // namespace diffuse
