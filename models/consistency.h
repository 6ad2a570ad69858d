// Consistency models (Song et al. 2023, "Consistency Models", eq. 7 and App. C): a network
// f(x, t) that maps every point of a probability-flow ODE trajectory to the trajectory's point at
// t_min, parameterized so that the boundary condition f(x, t_min) = x holds by construction:
//
//   f(x, t) = c_skip(t) x + c_out(t) x0_hat(x, t),     c_skip(t_min) = 1, c_out(t_min) = 0.
//
// Written in the noise-to-signal ratio s = sigma / alpha (s = t for edm) with s_min = s(t_min),
// and r = alpha_min / alpha, which carries x / alpha back to the scale of x_{t_min}:
//
//   c_skip = r sigma_data^2 / ((s - s_min)^2 + sigma_data^2)
//   c_out  = alpha_min (s - s_min) / sqrt(sigma_data^2 + s^2)
//
// x0_hat is the x0 prediction of an inner network in any parameterization (so a student can start
// from its teacher's weights). For an inner x0 network, x0_hat = sigma_data F, and c_out x0_hat is
// the paper's c_out(s) F = (s - s_min) sigma_data / sqrt(sigma_data^2 + s^2) F exactly (edm).
// The model declares parameterization x0: f is not the posterior mean E[x0 | x_t] but the ODE
// map, so only the `consistency` sampler is meaningful for it (samplers/consistency.h).
//
//   ModelConfig m = ...; m.consistency = true;
//   NetworkModelPtr f = make_network(m, process, options);   // a ConsistencyModel
//   torch::Tensor x_start = f->forward(x_t, t);              // one evaluation
#pragma once

#include "core/process/process.h"
#include "models/network.h"

namespace diffuse {

struct ConsistencyCoefficients {
  torch::Tensor c_skip, c_out;  // [B, 1, ...] in like's dtype
};

// The coefficients at per-sample times t [B], shaped to broadcast against `like` [B, ...].
// Computed in float64; at t = t_min exactly 1 and 0 (s and alpha of t_min come from the same
// elementwise code path as those of t, so s - s_min and alpha_min / alpha are exactly 0 and 1).
ConsistencyCoefficients consistency_coefficients(const ForwardProcess& process,
                                                 const torch::Tensor& t, const torch::Tensor& like,
                                                 double sigma_data);

class ConsistencyModel : public NetworkModel {
 public:
  ConsistencyModel(NetworkModelPtr inner, ProcessPtr process, double sigma_data);

  Parameterization parameterization() const override { return Parameterization::x0; }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                 const torch::Tensor& labels) override;
  std::int64_t num_classes() const override { return inner_->num_classes(); }
  std::string describe() const override;
  // The inner network's module and kind: a consistency checkpoint has the same keys as a score
  // network's, and model.consistency in its config says what it is.
  std::shared_ptr<torch::nn::Module> module() const override { return inner_->module(); }
  std::string kind() const override { return inner_->kind(); }

  const NetworkModelPtr& inner() const { return inner_; }

 private:
  NetworkModelPtr inner_;
  ProcessPtr process_;
  double sigma_data_;
};

}  // namespace diffuse
