// The one interface every score network and the analytic mixture oracle implement
// (docs/design.md "Interfaces"). A model maps (x, t) to its declared parameterization; it never
// knows which sampler calls it. Wrap it in a Denoiser (models/denoiser.h) to get the other views.
//
//   std::shared_ptr<ScoreModel> model = make_model(config.model, process, data);
//   torch::Tensor eps_hat = model->forward(x, t);   // x: [B, dims...], t: [B]
#pragma once

#include "core/process/parameterization.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace diffuse {

class ScoreModel {
 public:
  virtual ~ScoreModel() = default;

  // What forward() returns: eps, x0, v, velocity or score.
  virtual Parameterization parameterization() const = 0;

  // x: [B, dims...] on the model's device and dtype; t: [B] in the process's time units.
  // Returns a tensor shaped like x.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) = 0;

  // forward at one time t shared by the whole batch, as a sampler's step asks. The default is
  // forward(x, t [B]) with t in x's dtype; a network overrides it to compute its time scalings
  // once on the host instead of as tensor operations (most of a batch-1 call's overhead).
  virtual torch::Tensor forward_at(const torch::Tensor& x, double t);

  // One line for logs: kind and size.
  virtual std::string describe() const = 0;

  // Class conditioning (model.num_classes > 0). labels: [B] int64 in [0, num_classes],
  // where the value num_classes is the null label ("no class"): the unconditional branch of
  // classifier-free guidance, trained by label dropout. forward(x, t) is the null-label call.
  virtual std::int64_t num_classes() const { return 0; }
  virtual torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                         const torch::Tensor& labels);
};

using ScoreModelPtr = std::shared_ptr<ScoreModel>;

}  // namespace diffuse
