#include "train/dsm/train_step.h"

#include <cmath>
#include <limits>

namespace diffuse {

StepResult train_step(ScoreModel& model, const std::vector<torch::Tensor>& params,
                      torch::optim::Optimizer& optimizer, const DsmLoss& loss,
                      const DsmDraw& draw, double clip) {
  return optimizer_step(loss(model, draw).mean(), params, optimizer, clip);
}

StepResult optimizer_step(const torch::Tensor& value, const std::vector<torch::Tensor>& params,
                          torch::optim::Optimizer& optimizer, double clip,
                          const GradientSync& sync) {
  optimizer.zero_grad();
  value.backward();
  StepResult result;
  result.loss = value.item<double>();
  if (sync) result.loss = sync(result.loss);
  const double max_norm = clip > 0.0 ? clip : std::numeric_limits<double>::infinity();
  result.grad_norm = torch::nn::utils::clip_grad_norm_(params, max_norm);
  result.finite = std::isfinite(result.loss) && std::isfinite(result.grad_norm);
  if (result.finite) optimizer.step();
  return result;
}

}  // namespace diffuse
