// Consistency distillation and consistency training as a Trainer objective (Song et al.
// 2023, Algorithms 2 and 3; Song & Dhariwal 2023). Each step: N from the schedule, a pair
// (t_n, t_{n+1}) per example, x_{t_{n+1}} from the data, x_hat_{t_n} from the teacher's ODE step
// (or the one-sample estimate without a teacher), the consistency loss against the target network
// theta^-, which follows theta with decay mu after every optimiser step (train/trainer/ema.h
// without warm-up; mu = 0: theta^- = theta). The Trainer's EMA (train.ema_decay) is the model
// sampled.
//
//   auto objective = std::make_shared<ConsistencyObjective>(config.distill, teacher, mixture,
//   seed); setup.objective = objective;                    // setup.model.consistency = true
//   Trainer(setup).run();                           // checkpoints also hold "target"
#pragma once

#include "core/math/mixture.h"
#include "models/denoiser.h"
#include "train/consistency/distill_config.h"
#include "train/trainer/ema.h"
#include "train/trainer/training_objective.h"

#include <memory>
#include <optional>
#include <vector>

namespace diffuse {

class ConsistencyObjective : public TrainingObjective {
 public:
  // teacher: the score model whose ODE is distilled, on the training device (null: consistency
  // training, config.teacher = none). mixture: the data's exact distribution, for the sliced W2
  // of one- and two-step samples at every log line (nullopt: no such evaluation).
  ConsistencyObjective(DistillConfig config, ScoreModelPtr teacher,
                       std::optional<GaussianMixture> mixture, std::uint64_t seed);

  void attach(const ObjectiveContext& context) override;
  torch::Tensor loss(NetworkModel& model, const torch::Tensor& x0, std::int64_t step,
                     at::Generator generator) override;
  void after_step(std::int64_t step) override;
  nlohmann::json evaluate(const NetworkModelPtr& ema_model) override;
  NamedModules state() const override;
  std::string describe() const override;

  double huber_c() const { return huber_c_; }
  const NetworkModelPtr& target() const { return target_->model(); }

 private:
  const std::vector<double>& times_for(std::int64_t step);

  DistillConfig config_;
  ScoreModelPtr teacher_model_;
  std::optional<GaussianMixture> mixture_;
  std::uint64_t seed_;
  ProcessPtr process_;
  std::optional<Denoiser> teacher_;
  std::unique_ptr<Ema> target_;
  std::int64_t total_steps_ = 0;
  double huber_c_ = 0.0;
  int n_ = 0;                  // N of the cached discretisation
  std::vector<double> times_;  // t_1 < ... < t_N
  torch::Tensor eval_noise_, eval_reference_;
};

}  // namespace diffuse
