// Classifier-free guidance (Ho & Salimans 2022): a class-conditional model seen as an
// unconditional ScoreModel for sampling, with each batch row's label fixed in advance:
//   out = (1 + w) f(x, t, c) - w f(x, t, null),
// in the model's own parameterization. Every parameterization is affine in the score with
// coefficients that do not depend on the label, so this is guidance on the score with the same w.
// w = 0 is the plain conditional model (one evaluation); w > 0 evaluates both branches in one
// batch of 2B rows.
//
//   auto guided = std::make_shared<GuidedModel>(model, labels.narrow(0, first, n), 2.0);
//   Denoiser denoiser(guided, process);   // samplers use it like any model
#pragma once

#include "models/score_model.h"

namespace diffuse {

class GuidedModel : public ScoreModel {
 public:
  // labels: [B] in [0, num_classes] (num_classes: the null label); guidance w >= 0.
  GuidedModel(ScoreModelPtr model, torch::Tensor labels, double guidance);

  Parameterization parameterization() const override { return model_->parameterization(); }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  std::string describe() const override;

 private:
  ScoreModelPtr model_;
  torch::Tensor labels_;
  double guidance_;
};

// Labels for n samples of a model with num_classes classes: `label` for all of them, or, for
// label < 0, the classes in turn (sample i gets i mod num_classes), so any n is balanced.
torch::Tensor sample_labels(std::int64_t n, std::int64_t num_classes, std::int64_t label);

}  // namespace diffuse
