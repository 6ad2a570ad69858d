// Few-shot fine-tuning through a shared latent subspace (the seed talk's "Good sharing
// latent guarantees few-shot efficiency"). Source and target share the latent: X_s = A_s z,
// X_ta = A_ta z, so the target score is A_ta s_latent(A_ta^T x, t) - (I - A_ta A_ta^T) x / sigma^2
// with s_latent learned from the source. Fine-tuning freezes s_latent and learns A (and any
// named extra parameters) by the DSM loss on the N target samples: a gradient step on the raw
// D x d matrix, then the QR retraction A <- qf(A) (default), or a penalty
// weight * ||A^T A - I||_F^2 with one retraction at the end. With a good latent the error falls
// like N^{-1/2}; with a bad one (overfitted, perturbed) it stays above a constant.
//
//   FineTuner tuner(setup, pretrained /*SubspaceModel*/, shadow /*same shape, for the EMA*/,
//                   split_target(load_npy(path, 2), shots, holdout));
//   if (!resume.empty()) tuner.resume(resume);
//   FinetuneResult r = tuner.run(control);   // out/{checkpoint.pt, finetune.jsonl, config.yaml}
#pragma once

#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "models/model_factory.h"
#include "models/subspace.h"
#include "train/dsm/dsm_loss.h"
#include "train/dsm/time_sampler.h"
#include "train/dsm/train_step.h"
#include "train/finetune/finetune_config.h"
#include "train/trainer/ema.h"
#include "train/trainer/train_config.h"
#include "train/trainer/trainer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace diffuse {

struct FinetuneSetup {
  YAML::Node config;  // the whole run config, written into checkpoints
  std::uint64_t seed = 0;
  DataConfig data;    // the target data: its exact score and basis are logged when it has them
  ModelConfig model;  // resolved (the pretrained checkpoint's)
  TrainConfig train;  // loss, t_sampling, p_mean, p_std
  FinetuneConfig finetune;
  torch::TensorOptions options;
};

// The target set: the first `shots` rows train, the next `holdout` rows are held out.
struct TargetSplit {
  torch::Tensor shots;    // [N, D]
  torch::Tensor holdout;  // [H, D] or undefined
};

// InputError when rows [n, ...] has fewer than shots + holdout rows.
TargetSplit split_target(const torch::Tensor& rows, std::int64_t shots, std::int64_t holdout);

// ||A A^T - B B^T||_F: the distance of the subspaces (frames ignored), float64.
double projection_distance(const torch::Tensor& a, const torch::Tensor& b);

struct FinetuneResult {
  std::int64_t step = 0;
  std::string checkpoint;
  bool interrupted = false;
  bool stopped_early = false;
  std::int64_t best_step = -1;  // the restored step under early stopping (-1: none)
  double seconds = 0.0;
  nlohmann::json last_log;
};

class FineTuner {
 public:
  // model: a SubspaceModel (InputError otherwise) with its pretrained weights; shadow: a network
  // of the same shape (its weights are replaced). Applies latent_noise and init, then freezes
  // every parameter but the basis and finetune.extra (InputError naming an unknown one).
  FineTuner(const FinetuneSetup& setup, ProcessPtr process, NetworkModelPtr model,
            NetworkModelPtr shadow, TargetSplit target);

  void resume(const std::string& checkpoint);  // weights, EMA, optimiser and step
  FinetuneResult run(const TrainControl& control = {});

  // The log line's measurements (EMA weights): orthonormality, basis_distance (target basis
  // known), frame_error ||A - A_ta R||_F (shared-latent data: A_ta in the frame R the latent
  // learned), score_error (exact score known), holdout_loss (a held-out split).
  nlohmann::json evaluate();
  const NetworkModelPtr& model() const { return model_; }
  const NetworkModelPtr& ema_model() const { return ema_->model(); }
  SubspaceModel& subspace() { return *subspace_; }
  std::int64_t step() const { return step_; }
  std::string checkpoint_path() const;
  std::string describe() const;

 private:
  void perturb_latent();
  void initialise_basis(const torch::Tensor& source_basis);
  void freeze();
  double learning_rate_at(std::int64_t step) const;
  StepResult one_step(std::int64_t step);  // loss and gradient norm
  void retract();
  void save(std::int64_t step);
  std::optional<double> holdout_loss();

  FinetuneSetup setup_;
  std::string config_yaml_;
  ProcessPtr process_;
  NetworkModelPtr model_;
  std::shared_ptr<SubspaceModel> subspace_;
  std::unique_ptr<Ema> ema_;
  TargetSplit target_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<TimeSampler> times_;
  std::unique_ptr<DsmLoss> loss_;
  ScoreModelPtr oracle_;
  std::optional<torch::Tensor> true_basis_;
  std::optional<torch::Tensor> aligned_target_;  // shared-latent: A_ta R in the latent's frame
  std::vector<DsmDraw> eval_draws_, holdout_draws_;
  std::optional<DsmDraw> fixed_draw_;  // this step's draw (kept when finetune.fixed_draws)
  std::int64_t step_ = 0;
  std::string last_checkpoint_;
};

}  // namespace diffuse
