// The Trainer's seam for objectives other than denoising score matching (consistency
// distillation and training). The Trainer keeps data, optimiser, schedule, EMA, logs, checkpoints,
// resume and the NaN guards; an objective supplies the loss of a batch and whatever state it
// adds (a target network), which checkpoints then carry under its names.
//
//   TrainSetup setup = ...;
//   setup.objective = std::make_shared<ConsistencyObjective>(...);
//   Trainer trainer(setup);   // calls attach(), then loss() every step, after_step() after it
#pragma once

#include "core/process/process.h"
#include "models/model_factory.h"
#include "models/network.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace diffuse {

// What the Trainer has built when it attaches an objective.
struct ObjectiveContext {
  NetworkModelPtr model;  // the trained network (freshly initialised)
  ProcessPtr process;
  ModelConfig model_config;  // resolved (dim, sigma_data, parameterization)
  torch::TensorOptions options;
  std::int64_t total_steps = 0;
};

using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>;

class TrainingObjective {
 public:
  virtual ~TrainingObjective() = default;

  // Called once, after the model is built and before the EMA and the optimiser copy or see it,
  // so an objective may set the initial weights here.
  virtual void attach(const ObjectiveContext& context) = 0;
  // The mean loss of the batch x0 at 0-based `step`, differentiable in the model's parameters;
  // every draw comes from `generator` (keyed by seed and step: resume replays it).
  virtual torch::Tensor loss(NetworkModel& model, const torch::Tensor& x0, std::int64_t step,
                             at::Generator generator) = 0;
  // After the optimiser step and the EMA update of `step`.
  virtual void after_step(std::int64_t /*step*/) {}
  // Extra fields of each log line, measured with the EMA weights.
  virtual nlohmann::json evaluate(const NetworkModelPtr& /*ema_model*/) {
    return nlohmann::json::object();
  }
  // State saved in checkpoints beside model, ema and optimizer, and restored on resume.
  virtual NamedModules state() const { return {}; }
  virtual std::string describe() const = 0;
};

}  // namespace diffuse
