// diffuse eval: measure samples against the data's exact Gaussian mixture.
#include "apps/checkpoint_config.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/eval_model.h"
#include "apps/outputs.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/npy.h"
#include "core/runtime.h"

#include <iostream>

namespace diffuse::cli {

int run_eval(int argc, char** argv) {
  cxxopts::Options options(argv[0], "Measure samples against the data's exact mixture: NLL per "
                                    "dimension, sliced W2, MMD and mode coverage, as one JSON "
                                    "object on stdout.");
  add_common_options(options);
  options.add_options("Eval")("s,samples", "samples to measure (.npy, [n, D])",
                              cxxopts::value<std::string>());
  add_eval_model_options(options);
  const auto args = parse(options, argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\n";
    return 0;
  }
  if (args.count("model") && !args.count("samples") && !args.count("print-config"))
    return eval_model(args);
  const RunConfig config =
      args.count("model")
          ? load_checkpoint_run_config(args, {}, args["model"].as<std::string>())
          : load_run_config(args, {});
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  if (!args.count("samples"))
    throw InputError("eval: --samples FILE.npy or --model CHECKPOINT is required");
  set_up_run(config);
  const auto mixture = make_mixture(config.data);
  if (!mixture)
    throw InputError("eval: data.kind = " + config.data.kind +
                     " has no exact mixture to measure against");
  const std::string path = args["samples"].as<std::string>();
  const auto samples = load_npy(path, 2).to(torch::kFloat64);
  require_shape(samples, {kAnyDim, mixture->dim()}, path);
  auto generator = make_generator(static_cast<std::uint64_t>(config.metrics.seed));
  auto record = evaluate_against_mixture(*mixture, samples, config.metrics, generator);
  record["samples"] = path;
  record["data"] = config.data.kind;
  std::cout << record.dump() << std::endl;
  return 0;
}

}  // namespace diffuse::cli
