#include "train/trainer/trainer.h"

#include "core/base/compat.h"
#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/io/atomic_file.h"
#include "models/analytic.h"
#include "models/network_factory.h"
#include "train/trainer/checkpoint.h"
#include "train/trainer/optimizer.h"
#include "train/trainer/step_rng.h"
#include "train/trainer/train_monitor.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>

namespace diffuse {

namespace {

constexpr std::int64_t kInitSampleSize = 4096;  // rows for sigma_data and the PCA basis

std::string join(const std::string& folder, const std::string& name) {
  return (std::filesystem::path(folder) / name).string();
}

// Classifier-free guidance's training half: each label becomes the null label (num_classes)
// with probability p, so one network learns both the conditional and the unconditional score.
torch::Tensor drop_labels(const torch::Tensor& labels, std::int64_t num_classes, double p,
                          at::Generator generator) {
  const auto keep = torch::rand({labels.size(0)}, generator,
                                torch::TensorOptions(torch::kFloat32).device(labels.device())) >= p;
  return torch::where(keep, labels, torch::full_like(labels, num_classes));
}

// The rows of a draw that one data-parallel rank takes.
DsmDraw rows_of(const DsmDraw& draw, Shard shard) {
  const auto take = [&](const torch::Tensor& t) {
    return t.defined() ? t.narrow(0, shard.begin, shard.size) : t;
  };
  return {take(draw.x0), take(draw.t), take(draw.eps), take(draw.x_t), take(draw.labels)};
}

bool all_finite(const std::vector<torch::Tensor>& tensors) {
  for (const auto& t : tensors)
    if (!torch::isfinite(t).all().item<bool>()) return false;
  return true;
}

}  // namespace

Trainer::Trainer(const TrainSetup& setup) : setup_(setup) {
  const TrainConfig& c = setup_.train;
  const auto& options = setup_.options;
  setup_.config = YAML::Clone(setup.config);
  process_ = make_process(setup_.process);
  data_ = std::make_unique<TrainingData>(
      setup_.data, TrainingDataOptions{c.batch_size, c.data_size, setup_.seed}, options);
  const auto init_sample = data_->sample(kInitSampleSize, RngStream::init);
  setup_.model = resolve_model_config(setup_.model, *process_, init_sample);
  setup_.config["model"] = config::to_node(setup_.model);
  config_yaml_ = config::to_yaml(setup_.config);

  // Network initialisation draws from LibTorch's global generator: seeded here, so equal seeds
  // give equal initial weights.
  torch::manual_seed(setup_.seed);
  model_ = make_network(setup_.model, process_, options, init_sample);
  if (setup_.parallel) {
    require(!setup_.objective, "data-parallel training runs denoising score matching only");
    require(c.batch_size >= setup_.parallel->world_size(),
            "train.batch_size = " + std::to_string(c.batch_size) + " is smaller than the " +
                std::to_string(setup_.parallel->world_size()) + " processes it is split over");
    // Equal seeds give equal weights already; the broadcast makes it a guarantee.
    setup_.parallel->broadcast_from_root(model_->module()->parameters());
    setup_.parallel->broadcast_from_root(model_->module()->buffers());
  }
  if (setup_.objective)
    setup_.objective->attach({model_, process_, setup_.model, options, c.steps});
  else
    require(!setup_.model.consistency, "model.consistency = true: a consistency model is trained "
                                       "by `diffuse distill`, not by denoising score matching");
  ema_ = std::make_unique<Ema>(model_, make_network(setup_.model, process_, options),
                               c.ema_decay);
  if (model_->num_classes() > 0)
    require(data_->label_count() > 0 && data_->label_count() <= model_->num_classes(),
            "model.num_classes = " + std::to_string(model_->num_classes()) + " but the data " +
                (data_->label_count() == 0
                     ? std::string("has no labels (class conditioning needs idx images or a "
                                   "mixture, whose labels are its components)")
                     : "has labels 0.." + std::to_string(data_->label_count() - 1)));
  params_ = model_->module()->parameters();
  if (setup_.parallel) setup_.parallel->attach(params_);
  optimizer_ = make_optimizer(c, params_);
  times_ = std::make_unique<TimeSampler>(process_, c.t_sampling, c.p_mean, c.p_std);
  loss_ = std::make_unique<DsmLoss>(
      process_, resolve_loss_kind(c.loss, setup_.model.parameterization),
      *setup_.model.sigma_data);
  if (auto mixture = make_mixture(setup_.data))
    oracle_ = std::make_shared<AnalyticMixtureScore>(mixture->to(options), process_);
  if (c.eval_size > 0 && !setup_.objective && is_root()) {
    const auto x0 = data_->sample(c.eval_size, RngStream::eval);
    auto generator = step_generator(setup_.seed, 1, RngStream::eval, options.device());
    eval_draws_ = fixed_draws(*process_, x0, *times_, generator);
    if (oracle_)
      oracle_eval_loss_ = per_sample_losses(*oracle_, *loss_, eval_draws_).mean().item<double>();
  }
}

std::string Trainer::checkpoint_path() const { return join(setup_.train.out, "checkpoint.pt"); }

std::string Trainer::describe() const {
  return model_->describe() + "; " + data_->describe() + "; process " + process_->name() +
         (setup_.objective ? ", " + setup_.objective->describe()
                           : ", loss " + loss_->kind() + ", t " + times_->kind());
}

void Trainer::resume(const std::string& checkpoint) {
  step_ = load_training_checkpoint(checkpoint, *model_, *ema_, *optimizer_, setup_.seed,
                                   setup_.objective ? setup_.objective->state() : NamedModules{});
  last_checkpoint_ = checkpoint;
  last_checkpoint_step_ = step_;
}

void Trainer::one_step(std::int64_t step, double lr) {
  set_learning_rate(*optimizer_, lr);
  const auto batch = data_->batch(step);
  auto generator = step_generator(setup_.seed, step, RngStream::noise, setup_.options.device());
  if (setup_.objective)
    last_step_ = optimizer_step(setup_.objective->loss(*model_, batch.x, step, generator),
                                params_, *optimizer_, setup_.train.clip);
  else
    dsm_step(batch, generator);
  check_step(step, lr);
  ema_->update(step);
  if (setup_.objective) setup_.objective->after_step(step);
}

void Trainer::dsm_step(const Batch& batch, at::Generator generator) {
  const auto& x0 = batch.x;
  auto draw = make_draw(*process_, x0, times_->sample(x0.size(0), generator), generator);
  if (model_->num_classes() > 0)
    draw.labels = drop_labels(batch.labels, model_->num_classes(), setup_.train.label_dropout,
                              generator);
  if (!setup_.parallel) {
    last_step_ = train_step(*model_, params_, *optimizer_, *loss_, draw, setup_.train.clip);
    return;
  }
  // Every rank draws the whole batch (cheap beside the network) and keeps its rows, so the
  // shards together are exactly the one-process batch; each shard's loss is its sum over the
  // global batch size, so the summed gradients are the one-process mean's.
  const auto shard = rows_of(draw, setup_.parallel->shard(x0.size(0)));
  const auto loss = (*loss_)(*model_, shard).sum() / static_cast<double>(x0.size(0));
  last_step_ = optimizer_step(loss, params_, *optimizer_, setup_.train.clip,
                              [this](double local) { return sum_over_ranks(local); });
}

double Trainer::sum_over_ranks(double loss) {
  auto scalars = torch::tensor({loss, interrupt_ && interrupt_->load() ? 1.0 : 0.0},
                               torch::kFloat64);
  try {
    setup_.parallel->sum_gradients(scalars);
  } catch (const RuntimeFailure& e) {
    throw RuntimeFailure(std::string(e.what()) + ", at step " + std::to_string(step_ + 1) +
                         ". " + last_checkpoint_note());
  }
  ranks_interrupted_ = scalars[1].item<double>() > 0.0;
  return scalars[0].item<double>();
}

bool Trainer::interrupt_requested() const {
  if (setup_.parallel) return ranks_interrupted_;
  return interrupt_ && interrupt_->load();
}

void Trainer::check_step(std::int64_t step, double lr) const {
  if (!last_step_.finite) {
    std::ostringstream message;
    message << "the loss became " << last_step_.loss << " (gradient norm " << last_step_.grad_norm
            << ", lr " << lr << ") at step " << step + 1
            << "; training stopped without saving this state. " << last_checkpoint_note();
    throw RuntimeFailure(message.str());
  }
}

std::string Trainer::last_checkpoint_note() const {
  if (last_checkpoint_step_ < 0) return "No checkpoint was written before it";
  return "Last good checkpoint: " + last_checkpoint_ + " (step " +
         std::to_string(last_checkpoint_step_) + ")";
}

void Trainer::save(std::int64_t step) {
  // A finite loss can precede an update that overflows the weights: never save those.
  if (!all_finite(params_) || !all_finite(ema_->model()->module()->parameters()))
    throw RuntimeFailure("the weights are not finite after step " + std::to_string(step) +
                         "; training stopped without saving them. " + last_checkpoint_note());
  const std::string path = checkpoint_path();
  if (is_root())  // the ranks hold equal weights: one writes them
    save_training_checkpoint(
        path, {*model_, *ema_, *optimizer_, step, setup_.seed, config_yaml_,
               setup_.objective ? setup_.objective->state() : NamedModules{}});
  last_checkpoint_ = path;
  last_checkpoint_step_ = step;
}

nlohmann::json Trainer::evaluate() {
  if (setup_.objective) return setup_.objective->evaluate(ema_->model());
  nlohmann::json j = nlohmann::json::object();
  if (eval_draws_.empty()) return j;
  j["eval_loss"] = per_sample_losses(*ema_->model(), *loss_, eval_draws_).mean().item<double>();
  if (oracle_eval_loss_) j["oracle_loss"] = *oracle_eval_loss_;
  if (setup_.parallel) j["world_size"] = setup_.parallel->world_size();
  return j;
}

TrainResult Trainer::run(const TrainControl& control) {
  const TrainConfig& c = setup_.train;
  const auto started = std::chrono::steady_clock::now();
  interrupt_ = control.interrupt;
  std::optional<TrainMonitor> monitor;  // rank 0 alone writes the config and the log
  if (is_root()) {
    ensure_parent_directory(join(c.out, "config.yaml"));
    write_file_atomically(join(c.out, "config.yaml"),
                          "# resolved diffuse config\n" + config_yaml_);
    monitor.emplace(join(c.out, "train.jsonl"), /*append=*/step_ > 0, step_, c.steps);
  }
  TrainResult result;
  while (step_ < c.steps) {
    const double lr = learning_rate(c, step_);
    one_step(step_, lr);
    ++step_;
    if (monitor) monitor->record(last_step_.loss, last_step_.grad_norm);
    // Checked after the step: data-parallel ranks agreed on it inside the step's all-reduce.
    result.interrupted = interrupt_requested();
    const bool stop = result.interrupted || (control.stop_at && step_ >= *control.stop_at);
    const bool last = step_ == c.steps;
    if (monitor && (step_ % c.log_every == 0 || last || stop))
      result.last_log = monitor->log(step_, lr, [this] { return evaluate(); });
    if (step_ % c.checkpoint_every == 0 || last || stop) save(step_);
    if (stop) break;
  }
  interrupt_ = nullptr;
  result.step = step_;
  result.checkpoint = last_checkpoint_;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (monitor) {
    monitor->finish();
    result.steps_per_s = monitor->steps_per_second();
  }
  if (result.last_log.contains("loss")) result.last_loss = result.last_log["loss"].get<double>();
  return result;
}

Trainer::StepTiming Trainer::time_steps(std::int64_t steps, std::int64_t warmup) {
  require(steps >= 1, "time_steps: steps must be >= 1");
  for (std::int64_t i = 0; i < warmup; ++i, ++step_) one_step(step_, setup_.train.lr);
  if (setup_.parallel) setup_.parallel->barrier();  // the ranks start the clock together
  const auto wall = std::chrono::steady_clock::now();
  const std::clock_t cpu = std::clock();
  for (std::int64_t i = 0; i < steps; ++i, ++step_) one_step(step_, setup_.train.lr);
  compat::synchronize(setup_.options.device());  // a GPU's last step is timed to its end
  StepTiming timing;
  timing.cpu_seconds = static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC / steps;
  timing.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count() / steps;
  return timing;
}

}  // namespace diffuse
