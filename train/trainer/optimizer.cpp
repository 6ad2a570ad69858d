#include "train/trainer/optimizer.h"

#include "core/base/errors.h"

#include <algorithm>
#include <cmath>

namespace diffuse {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c,
                                                        const std::vector<torch::Tensor>& params) {
  if (c.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(
        params,
        torch::optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(c.weight_decay));
  if (c.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        params,
        torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(c.weight_decay));
  throw InputError("train.optimizer = '" + c.optimizer + "': expected adam or adamw");
}

double learning_rate(const TrainConfig& c, std::int64_t step) {
  if (step < c.warmup) return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup);
  if (c.schedule == "constant") return c.lr;
  const double span = static_cast<double>(std::max<std::int64_t>(c.steps - c.warmup, 1));
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup) / span);
  const double pi = 3.14159265358979323846;
  return c.min_lr + (c.lr - c.min_lr) * 0.5 * (1.0 + std::cos(pi * progress));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace diffuse
