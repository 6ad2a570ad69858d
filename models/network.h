// Trained score networks: a NetworkModel is a ScoreModel whose weights live in a
// torch::nn::Module, which optimisers, the EMA and checkpoints work on. Most kinds are a raw
// network F(x_in, c_noise) behind the preconditioning of models/preconditioning.h
// (PreconditionedModel); `subspace` wraps another NetworkModel (models/subspace.h).
//
//   NetworkModelPtr net = make_network(config.model, process, dim, options);
//   torch::optim::Adam adam(net->module()->parameters(), 1e-3);
//   torch::Tensor eps_hat = net->forward(x, t);      // in net->parameterization()
#pragma once

#include "core/process/process.h"
#include "models/preconditioning.h"
#include "models/score_model.h"

#include <torch/torch.h>

#include <memory>
#include <string>

namespace diffuse {

class NetworkModel : public ScoreModel {
 public:
  // The module holding every parameter and buffer (names are the checkpoint's keys).
  virtual std::shared_ptr<torch::nn::Module> module() const = 0;
  // The config's model.kind that built it (linear, two-layer, mlp, subspace).
  virtual std::string kind() const = 0;
};

using NetworkModelPtr = std::shared_ptr<NetworkModel>;

// A raw network: x_in [B, D] (already scaled by c_in) and c_noise [B] -> F [B, D].
class RawNetworkImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) = 0;
  virtual std::string describe() const = 0;
  // Class-conditional networks (score_model.h) override both; others refuse labels.
  virtual std::int64_t num_classes() const { return 0; }
  virtual torch::Tensor forward_labelled(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                         const torch::Tensor& labels);
  // A sampler evaluates the whole batch at one noise level. A network whose noise path (the
  // embedding of c_noise and every layer applied to it alone) broadcasts over the batch returns
  // true: forward_at then gives it c_noise [1], and that path runs once per call, not per row.
  virtual bool shares_noise_path() const { return false; }
  // The noise path's FLOPs (2 x in x out of its linear layers), for bench's arithmetic rates.
  virtual double noise_path_flops() const { return 0.0; }
};

// out = c_skip x + c_out F(c_in x, c_noise); x may be [B, dims...] (flattened for F).
class PreconditionedModel : public NetworkModel {
 public:
  PreconditionedModel(std::string kind, std::shared_ptr<RawNetworkImpl> network,
                      Preconditioner preconditioner, ProcessPtr process);

  Parameterization parameterization() const override { return preconditioner_.output(); }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  torch::Tensor forward_at(const torch::Tensor& x, double t) override;
  std::string describe() const override;
  std::int64_t num_classes() const override { return network_->num_classes(); }
  torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                 const torch::Tensor& labels) override;
  std::shared_ptr<torch::nn::Module> module() const override { return network_; }
  std::string kind() const override { return kind_; }

 private:
  // F(x_in, c_noise) under the run's autocast, in x_in's dtype.
  torch::Tensor raw(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                    const torch::Tensor& labels);

  std::string kind_;
  std::shared_ptr<RawNetworkImpl> network_;
  Preconditioner preconditioner_;
  ProcessPtr process_;
};

// 2 x in x out of each Linear layer in `module` (itself included), summed: the multiply-adds
// of one row through them.
double linear_layer_flops(const torch::nn::Module& module);

// Parameters of a module, for describe(): 12345 -> "12.3k".
std::string count_parameters(const torch::nn::Module& module);

}  // namespace diffuse
