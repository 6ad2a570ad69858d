#include "train/consistency/consistency_objective.h"

#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "core/metrics/metrics.h"
#include "models/network_factory.h"
#include "samplers/registry.h"
#include "train/consistency/consistency_loss.h"
#include "train/consistency/consistency_schedule.h"
#include "train/trainer/step_rng.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace diffuse {

namespace {

constexpr int kEvalProjections = 256;

// Song et al. start the student of distillation from the teacher's weights (Sec. 6.1).
void copy_weights(const torch::nn::Module& from, torch::nn::Module& to) {
  const auto copy = [](const auto& source, auto&& destination, const char* what) {
    require(source.size() == destination.size(),
            std::string("distill.init = teacher: the teacher's network has another number of ") +
                what + "; the student's model config must equal the teacher's");
    torch::NoGradGuard no_grad;
    for (auto& item : destination) {
      const auto* found = source.find(item.key());
      require(found != nullptr && found->sizes() == item.value().sizes(),
              "distill.init = teacher: the teacher has no " + std::string(what) + " '" +
                  item.key() + "' of the student's shape; the model configs must be equal");
      item.value().copy_(*found);
    }
  };
  copy(from.named_parameters(), to.named_parameters(), "parameters");
  copy(from.named_buffers(), to.named_buffers(), "buffers");
}

}  // namespace

ConsistencyObjective::ConsistencyObjective(DistillConfig config, ScoreModelPtr teacher,
                                           std::optional<GaussianMixture> mixture,
                                           std::uint64_t seed)
    : config_(std::move(config)),
      teacher_model_(std::move(teacher)),
      mixture_(std::move(mixture)),
      seed_(seed) {
  require(config_.training() == (teacher_model_ == nullptr),
          "distill: a teacher is needed unless distill.teacher = none (consistency training)");
  require(config_.init == "random" || teacher_model_ != nullptr,
          "distill.init = teacher needs a teacher checkpoint");
}

void ConsistencyObjective::attach(const ObjectiveContext& context) {
  require(context.model_config.consistency, "distill: the student needs model.consistency = true");
  require(context.model->num_classes() == 0,
          "distill: class-conditional students (model.num_classes > 0) are not supported");
  process_ = context.process;
  total_steps_ = context.total_steps;
  // iCT's c = 0.00054 sqrt(D) is for images with sigma_data = 0.5; scaled to the data's size.
  huber_c_ =
      config_.huber_c.value_or(0.00054 * std::sqrt(static_cast<double>(*context.model_config.dim)) *
                               *context.model_config.sigma_data / 0.5);
  if (teacher_model_) teacher_.emplace(teacher_model_, process_);
  if (config_.init == "teacher") {
    const auto network = std::dynamic_pointer_cast<NetworkModel>(teacher_model_);
    require(network != nullptr,
            "distill.init = teacher needs a trained teacher, not " + teacher_model_->describe());
    copy_weights(*network->module(), *context.model->module());
  }
  target_ = std::make_unique<Ema>(context.model,
                                  make_network(context.model_config, process_, context.options),
                                  config_.target_decay, /*warmup=*/false);
  if (mixture_ && config_.eval_samples > 0) {
    auto generator = step_generator(seed_, 2, RngStream::eval, torch::kCPU);
    const auto dim = *context.model_config.dim;
    eval_noise_ = (torch::randn({config_.eval_samples, dim}, generator, torch::kFloat64) *
                   process_->prior_std())
                      .to(context.options);
    eval_reference_ = mixture_->sample(config_.eval_samples, generator).x;
  }
}

const std::vector<double>& ConsistencyObjective::times_for(std::int64_t step) {
  const int n = discretisation_size(config_, step, total_steps_);
  if (n != n_) {
    times_ = discretisation(*process_, config_, n);
    n_ = n;
  }
  return times_;
}

torch::Tensor ConsistencyObjective::loss(NetworkModel& model, const torch::Tensor& x0,
                                         std::int64_t step, at::Generator generator) {
  require(target_ != nullptr, "ConsistencyObjective: attach() was not called");
  const auto& times = times_for(step);
  const auto pairs = sample_pairs(*process_, config_, times, x0.size(0), generator);
  const auto grid = torch::tensor(times, torch::kFloat64).to(x0.device());
  const auto t_now = grid.index_select(0, pairs), t_next = grid.index_select(0, pairs + 1);
  const auto z = torch::randn(x0.sizes(), generator, x0.options());
  auto draw = teacher_ ? distillation_draw(*teacher_, config_.solver, x0, t_now, t_next, z)
                       : training_draw(*process_, x0, t_now, t_next, z);
  if (config_.weighting != "uniform") draw.weight = pair_weights(*process_, config_, times, pairs);
  return consistency_losses(model, *target_->model(), draw, config_.metric, huber_c_).mean();
}

void ConsistencyObjective::after_step(std::int64_t step) { target_->update(step); }

nlohmann::json ConsistencyObjective::evaluate(const NetworkModelPtr& ema_model) {
  nlohmann::json j = {{"n", n_}};
  if (!eval_noise_.defined()) return j;
  torch::NoGradGuard no_grad;
  const Denoiser f(ema_model, process_);
  const int n_last = discretisation_size(config_, std::max<std::int64_t>(total_steps_ - 1, 0),
                                         total_steps_);
  for (const int steps : {1, 2}) {
    if (steps > n_last - 1) break;  // N = 2 has no point between t_N and t_1
    SamplerConfig sampler;
    sampler.name = "consistency";
    sampler.times = consistency_sampling_times(*process_, config_, total_steps_, steps);
    NoiseSource noise(seed_, 0);
    const auto x = run_sampler(sampler, f, eval_noise_, noise).to(torch::kCPU, torch::kFloat64);
    auto projections = make_generator(seed_);  // the same directions at every log line
    j["sw2_" + std::to_string(steps) + "step"] =
        sliced_w2(x, eval_reference_, kEvalProjections, projections);
  }
  return j;
}

NamedModules ConsistencyObjective::state() const {
  if (!target_) return {};
  return {{"target", target_->model()->module()}};
}

std::string ConsistencyObjective::describe() const {
  std::ostringstream out;
  if (teacher_model_)
    out << "consistency distillation from " << teacher_model_->describe() << " (" << config_.solver
        << " step)";
  else
    out << "consistency training (one-sample score estimate)";
  out << ", N "
      << (config_.n_schedule == "fixed"
              ? std::to_string(config_.n)
              : std::to_string(config_.n_min) + ".." + std::to_string(config_.n_max))
      << " on a " << config_.grid << " grid, target decay " << config_.target_decay << ", "
      << config_.metric << " loss";
  return out.str();
}

}  // namespace diffuse
