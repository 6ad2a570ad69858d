// DSM training of a score network. The loop is split into pieces, each in its own file:
// data (training_data.h), the loss (dsm_loss.h, time_sampler.h), one step (train_step.h), the EMA
// (ema.h), evaluation (dsm_eval.h), logging (train_monitor.h) and checkpoints (checkpoint.h);
// this class wires them together. It never parses argv and never exits: a NaN or Inf loss is a
// RuntimeFailure naming the step and the last good checkpoint, which is never overwritten by the
// bad state.
//
//   Trainer trainer(setup);                         // builds data, model, EMA, optimiser, loss
//   if (!resume.empty()) trainer.resume(resume);    // continues bit-identically on CPU
//   TrainResult result = trainer.run(control);      // writes out/{checkpoint.pt, train.jsonl,
//                                                   //   config.yaml}
#pragma once

#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "models/model_factory.h"
#include "models/network.h"
#include "train/distributed/data_parallel.h"
#include "train/dsm/dsm_eval.h"
#include "train/dsm/dsm_loss.h"
#include "train/dsm/time_sampler.h"
#include "train/dsm/train_step.h"
#include "train/trainer/ema.h"
#include "train/trainer/train_config.h"
#include "train/trainer/training_data.h"
#include "train/trainer/training_objective.h"

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace diffuse {

// What a training run is: the typed sections it reads and the whole run config as YAML (written
// into every checkpoint, with the resolved `model:` section).
struct TrainSetup {
  YAML::Node config;
  std::uint64_t seed = 0;
  ProcessConfig process;
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  torch::TensorOptions options;
  // Another objective than DSM (train/trainer/training_objective.h: consistency distillation).
  std::shared_ptr<TrainingObjective> objective = nullptr;
  // Data-parallel training over several processes; null: this process alone. Each
  // rank takes its shard of every batch; rank 0 alone writes the log, config and checkpoints.
  std::shared_ptr<DataParallel> parallel = nullptr;
};

struct TrainControl {
  std::optional<std::int64_t> stop_at;            // stop (with a checkpoint) after this step
  const std::atomic<bool>* interrupt = nullptr;   // e.g. set by a SIGINT handler; data-parallel
                                                  // ranks agree on it at the end of each step
};

struct TrainResult {
  std::int64_t step = 0;       // steps done in total
  std::string checkpoint;      // the last checkpoint written
  bool interrupted = false;    // stopped by `interrupt`
  double seconds = 0.0;        // wall time of run()
  double steps_per_s = 0.0;    // training steps only (evaluation excluded)
  double last_loss = 0.0;      // mean loss of the last logging interval
  nlohmann::json last_log;     // the last JSON line written
};

class Trainer {
 public:
  explicit Trainer(const TrainSetup& setup);

  // Restores weights, EMA, optimiser and step from a checkpoint of the same config.
  void resume(const std::string& checkpoint);
  TrainResult run(const TrainControl& control = {});

  // Wall and process-CPU seconds per training step over `steps` steps after `warmup` untimed
  // ones (bench mode: no logging, evaluation or checkpoints; the weights change). CPU time sums
  // over threads; on a busy machine it is the steadier figure.
  struct StepTiming {
    double wall_seconds = 0.0, cpu_seconds = 0.0;
  };
  StepTiming time_steps(std::int64_t steps, std::int64_t warmup = 5);

  const NetworkModelPtr& model() const { return model_; }
  const NetworkModelPtr& ema_model() const { return ema_->model(); }
  const ProcessPtr& process() const { return process_; }
  std::int64_t step() const { return step_; }
  const std::string& config_yaml() const { return config_yaml_; }
  std::string checkpoint_path() const;
  std::string describe() const;

 private:
  void one_step(std::int64_t step, double lr);
  void dsm_step(const Batch& batch, at::Generator generator);
  double sum_over_ranks(double loss);  // the GradientSync of data-parallel steps
  bool interrupt_requested() const;
  bool is_root() const { return !setup_.parallel || setup_.parallel->is_root(); }
  void check_step(std::int64_t step, double lr) const;  // RuntimeFailure for a non-finite step
  std::string last_checkpoint_note() const;
  void save(std::int64_t step);
  nlohmann::json evaluate();

  TrainSetup setup_;
  std::string config_yaml_;
  ProcessPtr process_;
  std::unique_ptr<TrainingData> data_;
  NetworkModelPtr model_;
  std::unique_ptr<Ema> ema_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<TimeSampler> times_;
  std::unique_ptr<DsmLoss> loss_;
  ScoreModelPtr oracle_;           // the exact score, when the data is a mixture
  std::vector<DsmDraw> eval_draws_;
  std::optional<double> oracle_eval_loss_;
  std::int64_t step_ = 0;
  std::string last_checkpoint_;
  std::int64_t last_checkpoint_step_ = -1;
  StepResult last_step_;
  const std::atomic<bool>* interrupt_ = nullptr;
  bool ranks_interrupted_ = false;  // some rank was interrupted (data-parallel)
};

}  // namespace diffuse
