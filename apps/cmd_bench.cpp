// diffuse bench: time samplers (samples/s, NFE/s) and a training step (ms/step) of a model, with
// warm-up runs, repeats, median and spread, and the machine they ran on; --peer runs the same
// work in plain PyTorch (scripts/bench_peer.py) and reports peer time / diffuse time.
#include "apps/bench/run.h"
#include "apps/checkpoint_config.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "core/base/errors.h"
#include "samplers/registry.h"

#include <iostream>
#include <sstream>

namespace diffuse::cli {

namespace {

// Without --config or --model: the ring8 mlp of configs/ring8-mlp.yaml.
const char* kDefaultConfig = R"(process: {kind: vp-linear}
data: {kind: ring8}
model: {kind: mlp, width: 128, depth: 3}
train: {batch_size: 512, lr: 2.0e-3}
)";

std::vector<std::string> split_list(const std::string& flag, const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) throw InputError("--" + flag + " '" + text + "': an empty item");
    items.push_back(item);
  }
  if (items.empty()) throw InputError("--" + flag + ": expected a comma-separated list");
  return items;
}

std::vector<std::int64_t> positive_list(const std::string& flag, const std::string& text) {
  std::vector<std::int64_t> values;
  for (const auto& item : split_list(flag, text)) {
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || value < 1)
      throw InputError("--" + flag + " '" + text + "': '" + item +
                       "' is not a positive integer (e.g. --" + flag + " 1,1024)");
    values.push_back(value);
  }
  return values;
}

std::int64_t count_option(const cxxopts::ParseResult& args, const std::string& flag,
                          std::int64_t least) {
  const auto value = args[flag].as<std::int64_t>();
  if (value < least)
    throw InputError("--" + flag + " " + std::to_string(value) +
                     ": expected a value >= " + std::to_string(least));
  return value;
}

}  // namespace

int run_bench(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Time samplers (samples/s, NFE/s) and a training step (ms/step) of a "
                           "model; prints one JSON object. Samplers run with their defaults on "
                           "the logsnr grid. On a CUDA device each configuration is also timed as a "
                           "CUDA graph (--set sampler.cuda_graph=false: not). Default model: the "
                           "ring8 mlp of configs/ring8-mlp.yaml, freshly initialised.");
  add_common_options(options);
  // clang-format off
  options.add_options("Bench")
      ("model", "a trained checkpoint (its EMA weights and its config)",
       cxxopts::value<std::string>())
      ("samplers", "comma list of sampler names",
       cxxopts::value<std::string>()->default_value("ddim,dpm-solver-3"))
      ("steps", "comma list of step counts K", cxxopts::value<std::string>()->default_value("20"))
      ("batch", "comma list of batch sizes",
       cxxopts::value<std::string>()->default_value("1,1024"))
      ("repeats", "timed runs of each configuration",
       cxxopts::value<std::int64_t>()->default_value("5"))
      ("warmup", "untimed runs before them", cxxopts::value<std::int64_t>()->default_value("1"))
      ("train-steps", "training steps per timed repeat (0: no training step)",
       cxxopts::value<std::int64_t>()->default_value("20"))
      ("peer", "also run the plain-PyTorch peer scripts/bench_peer.py and report its times")
      ("python", "the peer's Python",
       cxxopts::value<std::string>()->default_value("/usr/bin/python3"))
      ("peer-script", "the peer script (default: scripts/bench_peer.py of this build's tree)",
       cxxopts::value<std::string>())
      ("peer-dir", "keep the peer's inputs (weights, x_T, diffuse's x_0) in this folder",
       cxxopts::value<std::string>());
  // clang-format on
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  const std::string checkpoint = args.count("model") ? args["model"].as<std::string>() : "";
  RunConfig config = !checkpoint.empty()    ? load_checkpoint_run_config(args, {}, checkpoint)
                     : args.count("config") ? load_run_config(args, {})
                                            : load_run_config(YAML::Load(kDefaultConfig), args, {});
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  BenchPlan plan;
  plan.repeats = static_cast<int>(count_option(args, "repeats", 1));
  plan.warmup = static_cast<int>(count_option(args, "warmup", 0));
  plan.train_steps = count_option(args, "train-steps", 0);
  plan.peer = args.count("peer") > 0;
  plan.cuda_graph = config.sampler.cuda_graph;
  const auto samplers = split_list("samplers", args["samplers"].as<std::string>());
  const auto steps = positive_list("steps", args["steps"].as<std::string>());
  const auto batches = positive_list("batch", args["batch"].as<std::string>());
  const auto process = make_process(config.process);
  for (const auto& name : samplers) {
    const auto& row = find_sampler(name);  // InputError listing the known names
    if (!row.supports(*process))
      throw InputError("--samplers: '" + name + "' does not support process '" + process->name() +
                       "' (it supports: " + row.supported_processes() + ")");
    for (const auto k : steps)
      for (const auto b : batches) plan.sampling.push_back({name, static_cast<int>(k), b});
  }
  const RunContext run = set_up_run(config);
  plan.peer_options.threads = config.threads;
  plan.peer_options.device = run.device.str();
  plan.peer_options.python = args["python"].as<std::string>();
  if (args.count("peer-script")) plan.peer_options.script = args["peer-script"].as<std::string>();
  if (args.count("peer-dir")) plan.peer_options.folder = args["peer-dir"].as<std::string>();

  BenchModel model = make_bench_model(config, checkpoint, run);
  if (plan.peer) check_peer_supports(model, samplers, run);
  const nlohmann::json report = run_bench(plan, model, config, run);
  std::cout << report.dump() << std::endl;
  if (!peer_matched(report))
    throw RuntimeFailure(
        "the peer's samples differ from diffuse's for the same x_T (see "
        "sampling[].peer.check): its times are not like for like");
  return 0;
}

}  // namespace diffuse::cli
