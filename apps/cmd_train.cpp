// diffuse train: train a score network by denoising score matching; thin: the loop,
// checkpoints, guards and logs are train/trainer/trainer.h.
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/long_run.h"
#include "core/base/config.h"
#include "core/base/errors.h"
#include "models/checkpoint.h"
#include "train/distributed/launch_workers.h"
#include "train/trainer/trainer.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

namespace diffuse::cli {

namespace {

// This command's arguments for the ranks --nproc starts: the same, without --nproc.
std::vector<std::string> worker_arguments(int argc, char** argv) {
  std::vector<std::string> args{"diffuse", "train"};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (a.rfind("--nproc=", 0) == 0) continue;
    args.push_back(a);
  }
  return args;
}

// Joins the data-parallel group when a launcher started this process as one of several ranks
// (train/distributed/launch_environment.h); null for a single-process run. A GPU rank takes GPU
// LOCAL_RANK.
std::shared_ptr<DataParallel> join_launched_group(RunContext& run,
                                                  std::chrono::milliseconds timeout) {
  const auto env = read_launch_environment([](const char* name) { return std::getenv(name); });
  if (!env) return nullptr;
  if (run.device.is_cuda()) run.device = torch::Device(torch::kCUDA, env->local_rank);
  return std::make_shared<DataParallel>(*env, timeout);
}

}  // namespace

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
  options.add_options("Data-parallel")
      ("nproc", "train on N processes of this machine (c10d, Gloo over loopback); each takes "
                "1/N of every batch. Under torchrun or a scheduler, set RANK, WORLD_SIZE, "
                "MASTER_ADDR and MASTER_PORT instead", cxxopts::value<int>()->default_value("1"))
      ("dist-timeout", "seconds a rank waits for the others (start-up and every all-reduce) "
                       "before it fails", cxxopts::value<double>()->default_value("300"));
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  auto [resume, root] = read_run_start(args);
  const RunConfig config =
      load_run_config(root, args, {{"steps", "train.steps"}, {"out", "train.out"}});
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  const int nproc = args["nproc"].as<int>();
  const double timeout_s = args["dist-timeout"].as<double>();
  require(nproc >= 1, "--nproc must be at least 1, got " + std::to_string(nproc));
  require(timeout_s > 0, "--dist-timeout must be positive seconds");
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1e3));
  if (nproc > 1) {
    require(std::getenv("WORLD_SIZE") == nullptr,
            "--nproc starts its own ranks; it cannot run inside a launched one (WORLD_SIZE is "
            "set)");
    require(config.train.batch_size >= nproc,
            "train.batch_size = " + std::to_string(config.train.batch_size) +
                " cannot be split over --nproc " + std::to_string(nproc) + " processes");
    return launch_local_workers(worker_arguments(argc, argv), nproc, timeout);
  }
  RunContext run = set_up_run(config);
  const auto parallel = join_launched_group(run, timeout);
  const bool is_root = !parallel || parallel->is_root();
  Trainer trainer({config::to_node(config), static_cast<std::uint64_t>(config.seed),
                   config.process, config.data, config.model, config.train, run.options(),
                   nullptr, parallel});
  if (!resume.empty()) trainer.resume(resume);
  const int world_size = parallel ? parallel->world_size() : 1;
  if (args.count("bench-steps")) {
    const auto timing = trainer.time_steps(args["bench-steps"].as<std::int64_t>());
    if (is_root)
      std::cout << nlohmann::json{{"command", "train --bench-steps"},
                                  {"model", trainer.model()->describe()},
                                  {"batch_size", config.train.batch_size},
                                  {"world_size", world_size},
                                  {"threads", config.threads},
                                  {"device", run.device.str()},
                                  {"ms_per_step", timing.wall_seconds * 1e3},
                                  {"cpu_ms_per_step", timing.cpu_seconds * 1e3},
                                  {"steps_per_s", 1.0 / timing.wall_seconds},
                                  {"samples_per_s",
                                   config.train.batch_size / timing.wall_seconds}}
                       .dump()
                << std::endl;
    return 0;
  }
  if (is_root)
    std::cerr << "training " << trainer.describe()
              << (world_size > 1 ? " on " + std::to_string(world_size) + " processes" : "")
              << "\n";
  TrainResult result;
  run_interruptible(args, [&](const TrainControl& control) { result = trainer.run(control); });
  nlohmann::json summary = {{"command", "train"},
                            {"step", result.step},
                            {"checkpoint", result.checkpoint},
                            {"interrupted", result.interrupted},
                            {"wall_s", result.seconds},
                            {"steps_per_s", result.steps_per_s},
                            {"world_size", world_size}};
  for (const char* key : {"loss", "eval_loss", "oracle_loss"})
    if (result.last_log.contains(key)) summary[key] = result.last_log[key];
  if (!is_root) return result.interrupted ? 130 : 0;  // rank 0 reports for all
  return report_run(summary, result.interrupted, result.step, result.checkpoint);
}

}  // namespace diffuse::cli
