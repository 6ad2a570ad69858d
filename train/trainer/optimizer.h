// The optimiser and its learning-rate schedule: Adam (Kingma & Ba 2015) or AdamW
// (Loshchilov & Hutter 2019); linear warm-up over `warmup` steps, then constant or a cosine
// decay to min_lr at the last step (Loshchilov & Hutter 2017, without restarts).
//
//   auto optimizer = make_optimizer(config.train, module->parameters());
//   set_learning_rate(*optimizer, learning_rate(config.train, step));
#pragma once

#include "train/trainer/train_config.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace diffuse {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config,
                                                        const std::vector<torch::Tensor>& params);

// The rate of 0-based step `step`: (step + 1) / warmup * lr during warm-up, then the schedule.
double learning_rate(const TrainConfig& config, std::int64_t step);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace diffuse
