#include "train/finetune/finetune.h"

#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/io/atomic_file.h"
#include "models/analytic.h"
#include "train/dsm/dsm_eval.h"
#include "train/dsm/train_step.h"
#include "train/trainer/checkpoint.h"
#include "train/trainer/optimizer.h"
#include "train/trainer/step_rng.h"
#include "train/trainer/train_monitor.h"

#include <chrono>
#include <filesystem>
#include <limits>
#include <sstream>

namespace diffuse {

namespace {

std::string join(const std::string& folder, const std::string& name) {
  return (std::filesystem::path(folder) / name).string();
}

// The subspace form evaluated with the raw D x d parameter itself as A (no QR in the graph):
// the gradient step is Euclidean, the retraction (or the penalty) keeps A orthonormal.
class RawBasisView : public ScoreModel {
 public:
  explicit RawBasisView(SubspaceModel& model) : model_(model) {}
  Parameterization parameterization() const override { return model_.parameterization(); }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    return model_.forward_with_basis(x, t, model_.raw_basis());
  }
  std::string describe() const override { return model_.describe(); }

 private:
  SubspaceModel& model_;
};

torch::Tensor gram_error(const torch::Tensor& a) {  // A^T A - I
  return a.t().matmul(a) - torch::eye(a.size(1), a.options());
}

// The orthogonal factor U V^T of m = U S V^T (the nearest orthogonal matrix).
torch::Tensor polar(const torch::Tensor& m) {
  const auto [u, s, vh] = torch::linalg_svd(m, /*full_matrices=*/false, {});
  return u.matmul(vh);
}

// The rows repeated `draws` times: [draws * n, D], each row's draws spread over the batch.
torch::Tensor repeated(const torch::Tensor& rows, std::int64_t draws) {
  return rows.repeat({draws, 1});
}

}  // namespace

TargetSplit split_target(const torch::Tensor& rows, std::int64_t shots, std::int64_t holdout) {
  const std::int64_t n = rows.size(0);
  if (shots + holdout > n)
    throw InputError("finetune.shots = " + std::to_string(shots) +
                     (holdout > 0 ? " plus finetune.holdout = " + std::to_string(holdout) : "") +
                     " but the target set has only " + std::to_string(n) + " samples");
  TargetSplit split;
  const auto flat = rows.reshape({n, -1});
  split.shots = flat.narrow(0, 0, shots);
  if (holdout > 0) split.holdout = flat.narrow(0, shots, holdout);
  return split;
}

double projection_distance(const torch::Tensor& a, const torch::Tensor& b) {
  const auto a64 = a.detach().to(torch::kCPU, torch::kFloat64);
  const auto b64 = b.detach().to(torch::kCPU, torch::kFloat64);
  return (a64.matmul(a64.t()) - b64.matmul(b64.t())).norm().item<double>();
}

FineTuner::FineTuner(const FinetuneSetup& setup, ProcessPtr process, NetworkModelPtr model,
                     NetworkModelPtr shadow, TargetSplit target)
    : setup_(setup), process_(std::move(process)), model_(std::move(model)),
      target_(std::move(target)) {
  const FinetuneConfig& f = setup_.finetune;
  subspace_ = std::dynamic_pointer_cast<SubspaceModel>(model_);
  if (!subspace_)
    throw InputError("finetune needs a 'subspace' model (A s_latent(A^T x, t) - (I - A A^T) x / "
                     "sigma^2); the checkpoint holds a '" +
                     (model_ ? model_->kind() : std::string("null")) + "' model");
  setup_.config = YAML::Clone(setup.config);
  config_yaml_ = config::to_yaml(setup_.config);
  const auto& options = setup_.options;
  const std::int64_t dim = subspace_->basis().size(0);
  target_.shots = target_.shots.to(options);
  if (target_.shots.size(1) != dim)
    throw InputError("finetune.data: the target samples have " +
                     std::to_string(target_.shots.size(1)) + " dimensions, the model " +
                     std::to_string(dim));
  if (target_.holdout.defined()) target_.holdout = target_.holdout.to(options);

  const auto source_basis = subspace_->basis().detach().clone();
  if (setup_.data.kind == "shared-latent") {
    // The latent was learned in the frame of A_hat_s ~ A_s R, so the target's ideal basis is
    // A_ta R, R = polar(A_s^T A_hat_s): the reference of the logged frame_error and of init oracle.
    DataConfig source = setup_.data;
    source.domain = "source";
    const auto a_ta = *data_subspace_basis(setup_.data);
    if (a_ta.size(0) == dim && a_ta.size(1) == source_basis.size(1))
      aligned_target_ = a_ta.matmul(polar(
          data_subspace_basis(source)->t().matmul(source_basis.to(torch::kCPU, torch::kFloat64))));
  }
  perturb_latent();
  initialise_basis(source_basis);
  freeze();
  ema_ = std::make_unique<Ema>(model_, std::move(shadow), f.ema_decay);
  if (f.optimizer == "sgd")
    optimizer_ = std::make_unique<torch::optim::SGD>(params_, torch::optim::SGDOptions(f.lr));
  else
    optimizer_ = std::make_unique<torch::optim::Adam>(params_, torch::optim::AdamOptions(f.lr));
  times_ = std::make_unique<TimeSampler>(process_, setup_.train.t_sampling, setup_.train.p_mean,
                                         setup_.train.p_std);
  loss_ = std::make_unique<DsmLoss>(
      process_, resolve_loss_kind(setup_.train.loss, setup_.model.parameterization),
      *setup_.model.sigma_data);

  // What the logs measure against: the exact target score and basis, when the data has them.
  if (auto mixture = make_mixture(setup_.data)) {
    if (mixture->dim() == dim) {
      oracle_ = std::make_shared<AnalyticMixtureScore>(mixture->to(options), process_);
      if (f.eval_size > 0) {
        auto gen = step_generator(setup_.seed, 0, RngStream::eval, torch::kCPU);
        const auto x0 = mixture->sample(f.eval_size, gen, options).x;
        auto noise = step_generator(setup_.seed, 1, RngStream::eval, options.device());
        eval_draws_ = fixed_draws(*process_, x0, *times_, noise);
      }
    }
  }
  if (auto basis = data_subspace_basis(setup_.data))
    if (basis->size(0) == dim && basis->size(1) == source_basis.size(1)) true_basis_ = *basis;
  if (target_.holdout.defined()) {
    auto noise = step_generator(setup_.seed, 2, RngStream::eval, options.device());
    holdout_draws_ = fixed_draws(*process_, repeated(target_.holdout, f.draws), *times_, noise);
  }
}

void FineTuner::perturb_latent() {
  // "Bad latent" by perturbation: each latent tensor += N(0, (s * its RMS)^2), seeded.
  const double s = setup_.finetune.latent_noise;
  if (s <= 0.0) return;
  auto gen = step_generator(setup_.seed, 0, RngStream::init, torch::kCPU);
  torch::NoGradGuard no_grad;
  for (auto& p : subspace_->latent()->module()->parameters()) {
    const double rms = p.square().mean().sqrt().item<double>();
    const auto noise = torch::randn(p.sizes(), gen, torch::kFloat64).to(p.options());
    p.add_(noise * (s * (rms > 0 ? rms : 1.0)));
  }
}

void FineTuner::initialise_basis(const torch::Tensor& source_basis) {
  const std::string& init = setup_.finetune.init;
  const std::int64_t dim = source_basis.size(0), rank = source_basis.size(1);
  torch::Tensor a;
  if (init == "source") {
    a = source_basis;
  } else if (init == "random") {
    auto gen = step_generator(setup_.seed, 1, RngStream::init, torch::kCPU);
    a = torch::randn({dim, rank}, gen, torch::kFloat64);
  } else if (init == "pca") {
    // PCA of the shots, rotated within its span to the source frame (orthogonal Procrustes).
    const auto p = initial_basis(dim, rank, target_.shots);
    a = p.matmul(polar(p.t().matmul(source_basis.to(torch::kCPU, torch::kFloat64))));
  } else {  // oracle: the true A_ta in the frame the latent learned
    if (!aligned_target_)
      throw InputError("finetune.init = oracle needs shared-latent data of the model's shape");
    a = *aligned_target_;
  }
  torch::NoGradGuard no_grad;
  auto& raw = subspace_->raw_basis();
  raw.copy_(a.to(raw.options()));
  raw.copy_(subspace_->basis());  // orthonormal from the start
}

void FineTuner::freeze() {
  for (auto& p : model_->module()->parameters()) p.set_requires_grad(false);
  auto& raw = subspace_->raw_basis();
  raw.set_requires_grad(true);
  params_ = {raw};
  const auto named = model_->module()->named_parameters();
  for (const auto& name : setup_.finetune.extra) {
    const auto* p = named.find(name);
    if (!p) {
      std::string names;
      for (const auto& item : named) names += (names.empty() ? "" : ", ") + item.key();
      throw InputError("finetune.extra: the model has no parameter '" + name + "' (it has: " +
                       names + ")");
    }
    if (name == "basis") continue;
    p->set_requires_grad(true);
    params_.push_back(*p);
  }
}

std::string FineTuner::checkpoint_path() const {
  return join(setup_.finetune.out, "checkpoint.pt");
}

std::string FineTuner::describe() const {
  const FinetuneConfig& f = setup_.finetune;
  std::ostringstream out;
  out << model_->describe() << "; " << target_.shots.size(0) << " shots"
      << (target_.holdout.defined() ? ", " + std::to_string(target_.holdout.size(0)) + " held out"
                                    : std::string())
      << "; learns the basis" << (f.extra.empty() ? "" : " and " + std::to_string(f.extra.size()) +
                                                          " extra tensors")
      << " by " << f.optimizer << " with " << f.orthonormality << "; loss " << loss_->kind();
  return out.str();
}

void FineTuner::resume(const std::string& checkpoint) {
  step_ = load_training_checkpoint(checkpoint, *model_, *ema_, *optimizer_, setup_.seed);
  last_checkpoint_ = checkpoint;
}

double FineTuner::learning_rate_at(std::int64_t step) const {
  TrainConfig schedule;
  schedule.lr = setup_.finetune.lr;
  schedule.steps = setup_.finetune.steps;
  schedule.warmup = 0;
  schedule.schedule = setup_.finetune.schedule;
  return learning_rate(schedule, step);
}

StepResult FineTuner::one_step(std::int64_t step) {
  const FinetuneConfig& f = setup_.finetune;
  set_learning_rate(*optimizer_, learning_rate_at(step));
  // Fresh (t, eps) for every step, or one fixed set (keyed by step 0) reused by every step.
  auto gen = step_generator(setup_.seed, f.fixed_draws ? 0 : step, RngStream::noise,
                            setup_.options.device());
  const auto x0 = repeated(target_.shots, f.draws);
  if (!f.fixed_draws || !fixed_draw_)
    fixed_draw_ = make_draw(*process_, x0, times_->sample(x0.size(0), gen).to(x0.device()), gen);
  RawBasisView view(*subspace_);
  auto value = (*loss_)(view, *fixed_draw_).mean();
  if (f.orthonormality == "penalty")
    value = value + f.penalty * gram_error(subspace_->raw_basis()).square().sum();
  const StepResult r = optimizer_step(value, params_, *optimizer_, /*clip=*/0.0);
  if (!r.finite)
    throw RuntimeFailure("the fine-tuning loss became " + std::to_string(r.loss) + " at step " +
                         std::to_string(step + 1) + "; stopped without saving this state");
  if (f.orthonormality == "retraction") retract();
  ema_->update(step);
  return r;
}

void FineTuner::retract() {
  torch::NoGradGuard no_grad;
  auto& raw = subspace_->raw_basis();
  raw.copy_(subspace_->basis());
}

std::optional<double> FineTuner::holdout_loss() {
  if (holdout_draws_.empty()) return std::nullopt;
  return per_sample_losses(*ema_->model(), *loss_, holdout_draws_).mean().item<double>();
}

nlohmann::json FineTuner::evaluate() {
  nlohmann::json j = nlohmann::json::object();
  torch::NoGradGuard no_grad;
  auto& ema = dynamic_cast<SubspaceModel&>(*ema_->model());
  j["orthonormality"] = gram_error(subspace_->raw_basis().to(torch::kFloat64)).abs().max()
                            .item<double>();
  if (true_basis_) j["basis_distance"] = projection_distance(ema.basis(), *true_basis_);
  if (aligned_target_)
    j["frame_error"] =
        (ema.basis().to(torch::kCPU, torch::kFloat64) - *aligned_target_).norm().item<double>();
  if (oracle_ && !eval_draws_.empty()) {
    const auto c = compare_losses(ema, oracle_.get(), *loss_, eval_draws_);
    j["eval_loss"] = c.model_loss;
    j["oracle_loss"] = *c.oracle_loss;
    j["score_error"] = *c.score_error;
    j["score_error_sigma2"] = *c.score_error_sigma2;
  }
  if (auto h = holdout_loss()) j["holdout_loss"] = *h;
  return j;
}

void FineTuner::save(std::int64_t step) {
  save_training_checkpoint(checkpoint_path(),
                           {*model_, *ema_, *optimizer_, step, setup_.seed, config_yaml_});
  last_checkpoint_ = checkpoint_path();
}

FinetuneResult FineTuner::run(const TrainControl& control) {
  const FinetuneConfig& f = setup_.finetune;
  const auto started = std::chrono::steady_clock::now();
  ensure_parent_directory(join(f.out, "config.yaml"));
  write_file_atomically(join(f.out, "config.yaml"), "# resolved diffuse config\n" + config_yaml_);
  TrainMonitor monitor(join(f.out, "finetune.jsonl"), /*append=*/step_ > 0, step_, f.steps);
  FinetuneResult result;
  // Early stopping on the held-out split: the best weights so far, restored at the end.
  double best = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_params;
  std::int64_t since_best = 0;
  if (step_ == 0) result.last_log = monitor.log(0, f.lr, [this] { return evaluate(); });
  while (step_ < f.steps) {
    if (control.interrupt && control.interrupt->load()) {
      save(step_);
      result.interrupted = true;
      break;
    }
    const StepResult r = one_step(step_);
    ++step_;
    monitor.record(r.loss, r.grad_norm);
    if (!holdout_draws_.empty() && step_ % f.eval_every == 0) {
      const double h = *holdout_loss();
      if (h < best) {
        best = h;
        result.best_step = step_;
        best_params.clear();
        for (const auto& p : ema_->model()->module()->parameters())
          best_params.push_back(p.detach().clone());
        since_best = 0;
      } else if (f.patience > 0 && ++since_best >= f.patience) {
        result.stopped_early = true;
      }
    }
    const bool last = step_ == f.steps || result.stopped_early;
    const bool stop = control.stop_at && step_ >= *control.stop_at;
    if (step_ % f.log_every == 0 || last || stop)
      result.last_log =
          monitor.log(step_, learning_rate_at(step_ - 1), [this] { return evaluate(); });
    if (step_ % f.checkpoint_every == 0 || last || stop) save(step_);
    if (stop || result.stopped_early) break;
  }
  monitor.finish();
  if (f.orthonormality == "penalty" && !result.interrupted) {
    // The penalty keeps A near the Stiefel manifold; one retraction puts it on it.
    retract();
    torch::NoGradGuard no_grad;
    auto& averaged = dynamic_cast<SubspaceModel&>(*ema_->model());
    averaged.raw_basis().copy_(averaged.basis());
    save(step_);
  }
  if (!best_params.empty() && result.best_step != step_ && !result.interrupted) {
    torch::NoGradGuard no_grad;
    auto live = model_->module()->parameters();
    auto averaged = ema_->model()->module()->parameters();
    for (std::size_t i = 0; i < best_params.size(); ++i) {
      live[i].copy_(best_params[i]);
      averaged[i].copy_(best_params[i]);
    }
    result.last_log = evaluate();
    result.last_log["step"] = step_;
    result.last_log["restored_step"] = result.best_step;
    save(step_);
  }
  result.step = step_;
  result.checkpoint = last_checkpoint_;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace diffuse
