// diffuse train: train a score network by denoising score matching (issue 6); thin: the loop,
// checkpoints, guards and logs are train/trainer.h.
#include "apps/cli.h"
#include "apps/long_run.h"
#include "apps/commands.h"
#include "core/config.h"
#include "models/checkpoint.h"
#include "train/trainer.h"

#include <iostream>

namespace diffuse::cli {

int run_train(int argc, char** argv) {
  cxxopts::Options options(argv[0], "Train a score network by denoising score matching; writes "
                                    "checkpoint.pt, train.jsonl and config.yaml to train.out. "
                                    "Ctrl-C saves a checkpoint and exits (code 130).");
  add_common_options(options);
  options.add_options("Train")
      ("resume", "continue from a checkpoint (its config is used unless --config is given)",
       cxxopts::value<std::string>())
      ("steps", "total training steps (config key: train.steps)", cxxopts::value<std::string>())
      ("o,out", "output folder (config key: train.out)", cxxopts::value<std::string>())
      ("stop-at", "stop with a checkpoint after this step, as if interrupted",
       cxxopts::value<std::int64_t>())
      ("bench-steps", "time this many training steps (after 5 untimed) and print ms/step; "
                      "writes nothing", cxxopts::value<std::int64_t>());
  const auto args = parse(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\n";
    return 0;
  }
  auto [resume, root] = read_run_start(args);
  const RunConfig config =
      load_run_config(root, args, {{"steps", "train.steps"}, {"out", "train.out"}});
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  const RunContext run = set_up_run(config);
  Trainer trainer({config::to_node(config), static_cast<std::uint64_t>(config.seed),
                   config.process, config.data, config.model, config.train, run.options()});
  if (!resume.empty()) trainer.resume(resume);
  if (args.count("bench-steps")) {
    const auto timing = trainer.time_steps(args["bench-steps"].as<std::int64_t>());
    std::cout << nlohmann::json{{"command", "train --bench-steps"},
                                {"model", trainer.model()->describe()},
                                {"batch_size", config.train.batch_size},
                                {"threads", config.threads},
                                {"device", run.device.str()},
                                {"ms_per_step", timing.wall_seconds * 1e3},
                                {"cpu_ms_per_step", timing.cpu_seconds * 1e3},
                                {"steps_per_s", 1.0 / timing.wall_seconds}}
                     .dump()
              << std::endl;
    return 0;
  }
  std::cerr << "training " << trainer.describe() << "\n";
  TrainResult result;
  run_interruptible(args, [&](const TrainControl& control) { result = trainer.run(control); });
  nlohmann::json summary = {{"command", "train"},
                            {"step", result.step},
                            {"checkpoint", result.checkpoint},
                            {"interrupted", result.interrupted},
                            {"wall_s", result.seconds},
                            {"steps_per_s", result.steps_per_s}};
  for (const char* key : {"loss", "eval_loss", "oracle_loss"})
    if (result.last_log.contains(key)) summary[key] = result.last_log[key];
  return report_run(summary, result.interrupted, result.step, result.checkpoint);
}

}  // namespace diffuse::cli
