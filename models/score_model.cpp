#include "models/score_model.h"

#include "core/base/errors.h"

namespace diffuse {

torch::Tensor ScoreModel::forward_at(const torch::Tensor& x, double t) {
  return forward(x, torch::full({x.size(0)}, t, x.options()));
}

torch::Tensor ScoreModel::forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                           const torch::Tensor& labels) {
  if (labels.defined())
    throw InputError(describe() + " is not class-conditional; labels need a model trained with "
                                  "model.num_classes > 0");
  return forward(x, t);
}

}  // namespace diffuse
