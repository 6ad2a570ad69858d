// diffuse distill: a one-step consistency model by consistency distillation from a teacher, or
// consistency training without one; thin: the objective is
// train/consistency/consistency_objective.h, the loop, checkpoints, resume and logs are
// train/trainer/trainer.h.
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/long_run.h"
#include "apps/run/distill_teacher.h"
#include "core/base/config.h"
#include "models/checkpoint.h"
#include "train/consistency/consistency_objective.h"
#include "train/trainer/trainer.h"

#include <iostream>

namespace diffuse::cli {

int run_distill(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Distill a consistency model f(x, t) from a teacher's "
                           "probability-flow ODE (or train one without a teacher), "
                           "sampled in one step by `diffuse sample --model`; writes "
                           "checkpoint.pt, train.jsonl and config.yaml to train.out.");
  add_common_options(options);
  options.add_options("Distill")(
      "teacher",
      "CHECKPOINT of diffuse train, a TorchScript MODULE.ts, analytic (the data's exact "
      "score) or none (consistency training) (config key: distill.teacher)",
      cxxopts::value<std::string>())(
      "resume", "continue from a checkpoint (its config is used unless --config is given)",
      cxxopts::value<std::string>())("steps", "total training steps (config key: train.steps)",
                                     cxxopts::value<std::string>())(
      "o,out", "output folder (config key: train.out)", cxxopts::value<std::string>())(
      "stop-at", "stop with a checkpoint after this step, as if interrupted",
      cxxopts::value<std::int64_t>());
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  auto [resume, root] = read_run_start(args);
  RunConfig config = load_run_config(
      root, args, {{"teacher", "distill.teacher"}, {"steps", "train.steps"}, {"out", "train.out"}});
  const RunContext run = set_up_run(config);
  const ScoreModelPtr teacher = prepare_distillation(config, root, run.options());
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  TrainSetup setup{config::to_node(config),
                   static_cast<std::uint64_t>(config.seed),
                   config.process,
                   config.data,
                   config.model,
                   config.train,
                   run.options()};
  setup.objective = std::make_shared<ConsistencyObjective>(config.distill, teacher,
                                                           make_mixture(config.data), setup.seed);
  Trainer trainer(setup);
  if (!resume.empty()) trainer.resume(resume);
  std::cerr << "distilling " << trainer.describe() << "\n";
  TrainResult result;
  run_interruptible(args, [&](const TrainControl& control) { result = trainer.run(control); });
  nlohmann::json summary = {{"command", "distill"},
                            {"step", result.step},
                            {"checkpoint", result.checkpoint},
                            {"interrupted", result.interrupted},
                            {"wall_s", result.seconds},
                            {"steps_per_s", result.steps_per_s}};
  for (const char* key : {"loss", "n", "sw2_1step", "sw2_2step"})
    if (result.last_log.contains(key)) summary[key] = result.last_log[key];
  return report_run(summary, result.interrupted, result.step, result.checkpoint);
}

}  // namespace diffuse::cli
