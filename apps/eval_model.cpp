#include "apps/eval_model.h"

#include "apps/checkpoint_config.h"
#include "models/analytic.h"
#include "models/checkpoint.h"
#include "train/dsm_eval.h"
#include "train/step_rng.h"
#include "train/training_data.h"

#include <iostream>

namespace diffuse::cli {

void add_eval_model_options(cxxopts::Options& options) {
  options.add_options("Eval a trained model")
      ("model", "a checkpoint: print its DSM loss and the analytic oracle's on the same draws",
       cxxopts::value<std::string>())
      ("num-draws", "DSM draws (x0, t, eps) to average over (default 65536)",
       cxxopts::value<std::int64_t>()->default_value("65536"))
      ("raw-weights", "score the raw weights instead of the EMA");
}

int eval_model(const cxxopts::ParseResult& args) {
  const std::string path = args["model"].as<std::string>();
  const RunConfig config = load_checkpoint_run_config(args, {}, path);
  const RunContext run = set_up_run(config);
  const bool ema = !args.count("raw-weights");
  LoadedModel loaded = load_model(path, run.options(), ema);
  const auto& model_config = loaded.model_config;
  const DsmLoss loss(loaded.process,
                     resolve_loss_kind(config.train.loss, model_config.parameterization),
                     *model_config.sigma_data);
  const TimeSampler times(loaded.process, config.train.t_sampling, config.train.p_mean,
                          config.train.p_std);
  // Draws keyed by metrics.seed: the same for every checkpoint evaluated with that seed.
  const auto seed = static_cast<std::uint64_t>(config.metrics.seed);
  TrainingData data(config.data, {1, 0, seed}, run.options());
  const auto x0 = data.sample(args["num-draws"].as<std::int64_t>(), RngStream::eval);
  auto generator = step_generator(seed, 1, RngStream::eval, run.device);
  const auto draws = fixed_draws(*loaded.process, x0, times, generator);

  std::shared_ptr<ScoreModel> oracle;
  if (auto mixture = make_mixture(config.data))
    oracle = std::make_shared<AnalyticMixtureScore>(mixture->to(run.options()), loaded.process);
  auto record = compare_losses(*loaded.model, oracle.get(), loss, draws).to_json();
  record["command"] = "eval";
  record["checkpoint"] = path;
  record["step"] = loaded.step;
  record["weights"] = ema ? "ema" : "raw";
  record["model"] = loaded.model->describe();
  record["loss"] = loss.kind();
  record["t_sampling"] = times.kind();
  record["process"] = loaded.process->name();
  record["data"] = config.data.kind;
  record["dtype"] = config.dtype;
  std::cout << record.dump() << std::endl;
  return 0;
}

}  // namespace diffuse::cli
