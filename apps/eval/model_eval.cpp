#include "apps/eval/model_eval.h"

#include "apps/eval/images.h"
#include "apps/eval/model_sampler.h"
#include "apps/eval/samples.h"
#include "apps/run/outputs.h"
#include "apps/run/run_context.h"
#include "core/base/errors.h"
#include "models/analytic.h"
#include "models/checkpoint.h"
#include "models/denoiser.h"
#include "models/guidance.h"
#include "models/torchscript.h"
#include "train/dsm/dsm_eval.h"
#include "train/trainer/step_rng.h"
#include "train/trainer/training_data.h"

namespace diffuse {

namespace {

// What eval --model scores: a checkpoint's network, or a TorchScript module (models/torchscript.h)
// under the --config's process and data.
struct EvaluatedModel {
  ScoreModelPtr model;
  ProcessPtr process;
  std::string parameterization;  // the DSM loss's (eps, ..., edm)
  double sigma_data = 1.0;
  bool consistency = false;
  std::int64_t step = 0;
};

EvaluatedModel evaluated_model(const RunConfig& config, const std::string& path,
                               const RunContext& run, bool ema) {
  EvaluatedModel m;
  if (is_torchscript_file(path)) {
    ModelConfig module = config.model;
    module.kind = "torchscript";
    module.path = path;
    m.process = make_process(config.process);
    auto ts = load_torchscript_model(module, m.process, data_sample_shape(config.data),
                                     run.options());
    m.parameterization = ts->prediction();
    m.sigma_data = ts->sigma_data().value_or(config.model.sigma_data.value_or(1.0));
    m.model = ts;
    return m;
  }
  LoadedModel loaded = load_model(path, run.options(), ema);
  m.model = loaded.model;
  m.process = loaded.process;
  m.parameterization = loaded.model_config.parameterization;
  m.sigma_data = *loaded.model_config.sigma_data;
  m.consistency = loaded.model_config.consistency;
  m.step = loaded.step;
  return m;
}

// Draws `count` samples of the loaded model with the run's sampler (balanced labels for a
// conditional model, no guidance) and measures them like `eval --samples`.
nlohmann::json sample_and_measure(const RunConfig& config, const RunContext& run,
                                  const EvaluatedModel& loaded, std::int64_t count,
                                  const std::string& path, const std::string& classifier) {
  const bool images = config.data.kind == "idx";
  if (images && classifier.empty())
    throw InputError("eval --sample: image samples are measured through a classifier: give "
                     "--classifier CKPT (diffuse train-classifier)");
  const SamplerConfig sampler = sampler_for_model(config, *loaded.process, path);
  const Denoiser denoiser(loaded.model, loaded.process);
  GenerateRequest request;
  request.num_samples = count;
  request.batch_size = std::min<std::int64_t>(count, config.sample.batch_size);
  request.seed = static_cast<std::uint64_t>(config.seed);
  if (loaded.model->num_classes() > 0)
    request.labels = sample_labels(count, loaded.model->num_classes(), -1);
  const GenerateResult result = generate_with_progress(
      sampler, denoiser, data_sample_shape(config.data), run.options(), request);
  const std::string name = path + " (" + std::to_string(count) + " samples)";
  auto record = images ? evaluate_image_samples(config, run.device, result.samples,
                                                {name, classifier, "", request.labels})
                       : evaluate_mixture_samples(config, result.samples, name);
  record["sampler"] = sampler.name;
  record["steps"] = sampler.steps;
  record["nfe"] = result.nfe;
  record["sampling_s"] = result.seconds;
  return record;
}

}  // namespace

nlohmann::json evaluate_model(const RunConfig& config, const ModelEvalRequest& request) {
  const std::string& path = request.checkpoint;
  const std::int64_t sample_count = request.samples;
  require(sample_count >= 0, "eval: --sample must be >= 0, got " + std::to_string(sample_count));
  const RunContext run = set_up_run(config);
  const bool ema = request.ema;
  const EvaluatedModel loaded = evaluated_model(config, path, run, ema);
  nlohmann::json record;
  if (!loaded.consistency) {  // a consistency model's f is not a score: no DSM loss
    const DsmLoss loss(loaded.process,
                       resolve_loss_kind(config.train.loss, loaded.parameterization),
                       loaded.sigma_data);
    const TimeSampler times(loaded.process, config.train.t_sampling, config.train.p_mean,
                            config.train.p_std);
    // Draws keyed by metrics.seed: the same for every checkpoint evaluated with that seed.
    const auto seed = static_cast<std::uint64_t>(config.metrics.seed);
    TrainingData data(config.data, {1, 0, seed}, run.options());
    const auto x0 = data.sample(request.num_draws, RngStream::eval);
    auto generator = step_generator(seed, 1, RngStream::eval, run.device);
    const auto draws = fixed_draws(*loaded.process, x0, times, generator);
    std::shared_ptr<ScoreModel> oracle;
    if (auto mixture = make_mixture(config.data))
      oracle = std::make_shared<AnalyticMixtureScore>(mixture->to(run.options()), loaded.process);
    record = compare_losses(*loaded.model, oracle.get(), loss, draws).to_json();
    record["loss"] = loss.kind();
    record["t_sampling"] = times.kind();
  } else {
    require(sample_count > 0, "eval --model " + path + ": a consistency model has no DSM loss; "
                              "measure its samples with --sample N");
  }
  if (sample_count > 0)
    record["samples"] =
        sample_and_measure(config, run, loaded, sample_count, path, request.classifier);
  record["command"] = "eval";
  record["checkpoint"] = path;
  record["step"] = loaded.step;
  record["weights"] = ema ? "ema" : "raw";
  record["model"] = loaded.model->describe();
  record["process"] = loaded.process->name();
  record["data"] = config.data.kind;
  record["dtype"] = config.dtype;
  return record;
}

}  // namespace diffuse
