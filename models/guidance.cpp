#include "models/guidance.h"

#include "core/base/errors.h"

#include <sstream>

namespace diffuse {

GuidedModel::GuidedModel(ScoreModelPtr model, torch::Tensor labels, double guidance)
    : model_(std::move(model)), labels_(std::move(labels)), guidance_(guidance) {
  require(model_ != nullptr, "GuidedModel: no model");
  require(model_->num_classes() > 0,
          model_->describe() + " is not class-conditional (train it with model.num_classes)");
  require(guidance_ >= 0.0, "sample.guidance must be >= 0 (0: the conditional model alone)");
  require(labels_.dim() == 1, "GuidedModel: labels must be [B]");
  const auto n = model_->num_classes();
  require(labels_.min().item<std::int64_t>() >= 0 && labels_.max().item<std::int64_t>() <= n,
          "labels must be in 0.." + std::to_string(n - 1) + " (or " + std::to_string(n) +
              " for none)");
}

torch::Tensor GuidedModel::forward(const torch::Tensor& x, const torch::Tensor& t) {
  require(x.size(0) == labels_.size(0), "GuidedModel: " + std::to_string(x.size(0)) +
                                            " rows but " + std::to_string(labels_.size(0)) +
                                            " labels");
  const auto labels = labels_.to(x.device());
  if (guidance_ == 0.0) return model_->forward_labelled(x, t, labels);
  const auto null = torch::full_like(labels, model_->num_classes());
  const auto both = model_->forward_labelled(torch::cat({x, x}), torch::cat({t, t}),
                                             torch::cat({labels, null}));
  const auto conditional = both.narrow(0, 0, x.size(0));
  const auto unconditional = both.narrow(0, x.size(0), x.size(0));
  return conditional + guidance_ * (conditional - unconditional);
}

std::string GuidedModel::describe() const {
  std::ostringstream text;
  text << model_->describe() << ", classifier-free guidance w = " << guidance_;
  return text.str();
}

torch::Tensor sample_labels(std::int64_t n, std::int64_t num_classes, std::int64_t label) {
  require(num_classes > 0, "sample_labels: the model has no classes");
  require(label < num_classes, "sample.label = " + std::to_string(label) + " but the model has " +
                                   std::to_string(num_classes) + " classes (0.." +
                                   std::to_string(num_classes - 1) + "; -1 for all in turn)");
  if (label >= 0) return torch::full({n}, label, torch::kInt64);
  return torch::arange(n, torch::kInt64).remainder(num_classes);
}

}  // namespace diffuse
