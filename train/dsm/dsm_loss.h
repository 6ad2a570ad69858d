// Denoising score matching (Vincent 2011; the seed talk's objective): for x_t = alpha x0 +
// sigma eps the network's prediction is regressed on the target its parameterization assigns to
// (x0, eps), with the usual weight of each convention:
//   eps       ||eps_hat - eps||^2                 (Ho et al. 2020; VP processes)
//   velocity  ||u_hat - (alpha' x0 + sigma' eps)||^2   (flow matching, Lipman et al. 2023; rf)
//   score     sigma^2 ||s_hat + eps / sigma||^2   (Song & Ermon 2019; VE processes)
//   edm       lambda(sigma) ||D - x0||^2, lambda = 1 / c_out^2 (Karras et al. 2022, Table 1)
//   x0, v     unweighted
// Any ScoreModel can be scored under any of them: its output is converted through (x0, eps)
// (core/process/parameterization.h), so a trained network and the analytic oracle meet on one
// scale. Losses are per sample (mean over dimensions), [B].
//
//   DsmLoss loss(process, "eps", sigma_data);
//   DsmDraw draw = make_draw(*process, x0, times.sample(b, gen), gen);
//   torch::Tensor per_sample = loss(model, draw);   // [B]; .mean() to train
#pragma once

#include "core/process/parameterization.h"
#include "core/process/process.h"
#include "models/score_model.h"

#include <torch/torch.h>

#include <string>

namespace diffuse {

// One noised batch: data x0 [B, dims...], times t [B] (float64), noise eps and x_t; labels [B]
// for a class-conditional model (undefined: the unconditional call).
struct DsmDraw {
  torch::Tensor x0, t, eps, x_t, labels;
};

// Draws eps ~ N(0, I) like x0 with `generator` (on x0's device) and forms x_t.
DsmDraw make_draw(const ForwardProcess& process, const torch::Tensor& x0, const torch::Tensor& t,
                  at::Generator generator);

// train.loss "auto" -> the model's parameterization; other names unchanged.
std::string resolve_loss_kind(const std::string& loss, const std::string& model_parameterization);

class DsmLoss {
 public:
  // kind: eps, x0, v, velocity, score or edm; sigma_data: EDM's weight.
  DsmLoss(ProcessPtr process, std::string kind, double sigma_data);

  torch::Tensor operator()(ScoreModel& model, const DsmDraw& draw) const;
  const std::string& kind() const { return kind_; }
  const ForwardProcess& process() const { return *process_; }

 private:
  ProcessPtr process_;
  std::string kind_;
  Parameterization target_;  // edm: x0
  double sigma_data_;
};

}  // namespace diffuse
