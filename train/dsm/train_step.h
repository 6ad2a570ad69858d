// One optimiser step of DSM training: loss on a noised batch, backward, gradient-norm clipping
// (Pascanu et al. 2013), optimiser step. The step is skipped when the loss or the gradient norm
// is not finite, so the caller can stop with the weights of the last good step.
//
//   StepResult r = train_step(*model, params, *optimizer, loss, draw, /*clip=*/1.0);
//   if (!r.finite) ...;   // nothing was changed
#pragma once

#include "models/score_model.h"
#include "train/dsm/dsm_loss.h"

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace diffuse {

struct StepResult {
  double loss = 0.0;       // the batch's mean loss
  double grad_norm = 0.0;  // before clipping
  bool finite = true;
};

// Runs between backward and clipping in data-parallel training: sums the gradients (and the
// loss, which it gets and returns) over the ranks (train/distributed/data_parallel.h).
using GradientSync = std::function<double(double loss)>;

// backward of `loss` (a scalar), clipping, optimiser step (skipped when not finite). clip <= 0:
// no clipping (the norm is still measured). train_step is this with the DSM loss.
StepResult optimizer_step(const torch::Tensor& loss, const std::vector<torch::Tensor>& params,
                          torch::optim::Optimizer& optimizer, double clip,
                          const GradientSync& sync = nullptr);

StepResult train_step(ScoreModel& model, const std::vector<torch::Tensor>& params,
                      torch::optim::Optimizer& optimizer, const DsmLoss& loss,
                      const DsmDraw& draw, double clip);

}  // namespace diffuse
