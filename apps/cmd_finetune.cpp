// diffuse finetune: few-shot fine-tuning of a pretrained `subspace` model on N target samples;
// thin: the loop, retraction, early stopping, checkpoints and logs are
// train/finetune/finetune.h.
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/long_run.h"
#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/io/npy.h"
#include "models/checkpoint.h"
#include "models/network_factory.h"
#include "train/finetune/finetune.h"

#include <iostream>

namespace diffuse::cli {

namespace {

const std::vector<FlagBinding> kFlags = {
    {"from", "finetune.from"}, {"data", "finetune.data"},   {"shots", "finetune.shots"},
    {"holdout", "finetune.holdout"}, {"steps", "finetune.steps"}, {"out", "finetune.out"}};

}  // namespace

int run_finetune(int argc, char** argv) {
  cxxopts::Options options(
      argv[0], "Fine-tune a pretrained `subspace` model on a few target samples: the latent score "
               "is frozen, the basis A (and finetune.extra) learned by DSM; writes checkpoint.pt, "
               "finetune.jsonl and config.yaml to finetune.out. Process and model come from the "
               "checkpoint; --config should describe the target data (its exact score and basis "
               "are logged when it has them).");
  add_common_options(options);
  options.add_options("Finetune")
      ("from", "the pretrained CHECKPOINT (config key: finetune.from)",
       cxxopts::value<std::string>())
      ("data", "TARGET .npy of samples [n, D] (config key: finetune.data)",
       cxxopts::value<std::string>())
      ("shots", "N: train on the first N rows (config key: finetune.shots)",
       cxxopts::value<std::string>())
      ("holdout", "the next H rows as a held-out split for early stopping (finetune.holdout)",
       cxxopts::value<std::string>())
      ("steps", "fine-tuning steps (config key: finetune.steps)", cxxopts::value<std::string>())
      ("o,out", "output folder (config key: finetune.out)", cxxopts::value<std::string>())
      ("resume", "continue from a fine-tuning checkpoint (its config unless --config is given)",
       cxxopts::value<std::string>())
      ("stop-at", "stop with a checkpoint after this step, as if interrupted",
       cxxopts::value<std::int64_t>());
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  auto [resume, root] = read_run_start(args);
  RunConfig config = load_run_config(root, args, kFlags);
  const std::string source = resume.empty() ? config.finetune.from : resume;
  if (source.empty())
    throw InputError("finetune needs --from CHECKPOINT (a `subspace` model from diffuse train)");
  if (config.finetune.data.empty())
    throw InputError("finetune needs --data TARGET.npy (target samples, e.g. from diffuse data)");
  const YAML::Node saved = read_checkpoint_config(source);
  root["process"] = saved["process"];
  root["model"] = saved["model"];
  if (!root["data"]) root["data"] = saved["data"];
  config = load_run_config(root, args, kFlags);
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  if (config.model.kind != "subspace")
    throw InputError("finetune needs a 'subspace' model; the checkpoint " + source + " holds a '" +
                     config.model.kind + "' model (train one with model.kind: subspace)");
  // Checked before anything is written: a NaN target row would only surface as a NaN loss.
  const auto target = load_npy(config.finetune.data);
  if (target.dim() >= 1 && !torch::isfinite(target).all().item<bool>()) {
    const auto bad = ~torch::isfinite(target.reshape({target.size(0), -1})).all(1);
    throw InputError(config.finetune.data + ": row " +
                     std::to_string(bad.nonzero()[0][0].item<std::int64_t>()) +
                     " holds NaN or infinite values (" +
                     std::to_string(bad.sum().item<std::int64_t>()) + " of " +
                     std::to_string(bad.size(0)) + " rows do); expected finite target samples");
  }
  const RunContext run = set_up_run(config);
  const auto split = split_target(target, config.finetune.shots, config.finetune.holdout);
  LoadedModel pretrained = load_model(source, run.options(), /*ema=*/true);
  auto shadow = make_network(pretrained.model_config, pretrained.process, run.options());
  FinetuneSetup setup{config::to_node(config), static_cast<std::uint64_t>(config.seed),
                      config.data, pretrained.model_config, config.train, config.finetune,
                      run.options()};
  FineTuner tuner(setup, pretrained.process, pretrained.model, shadow, split);
  if (!resume.empty()) tuner.resume(resume);
  std::cerr << "fine-tuning " << tuner.describe() << "\n";
  FinetuneResult result;
  run_interruptible(args, [&](const TrainControl& control) { result = tuner.run(control); });
  nlohmann::json summary = {{"command", "finetune"},        {"step", result.step},
                            {"checkpoint", result.checkpoint}, {"interrupted", result.interrupted},
                            {"stopped_early", result.stopped_early},
                            {"best_step", result.best_step}, {"wall_s", result.seconds},
                            {"shots", config.finetune.shots}};
  for (const char* key : {"loss", "orthonormality", "basis_distance", "frame_error", "score_error",
                          "score_error_sigma2", "eval_loss", "oracle_loss", "holdout_loss"})
    if (result.last_log.contains(key)) summary[key] = result.last_log[key];
  return report_run(summary, result.interrupted, result.step, result.checkpoint);
}

}  // namespace diffuse::cli
