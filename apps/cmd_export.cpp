// diffuse export: a trained checkpoint's network (EMA weights) as a TorchScript module that
// PyTorch's torch.jit.load runs, with its prediction, process and data shape as attributes
// (models/torchscript_export.h).
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/run/outputs.h"
#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "models/checkpoint.h"
#include "models/torchscript_export.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>

namespace diffuse::cli {

namespace {

std::vector<std::int64_t> parse_export_shape(const std::string& text) {
  std::vector<std::int64_t> shape;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      std::size_t used = 0;
      const long long d = std::stoll(item, &used);
      require(used == item.size() && d > 0, "");
      shape.push_back(d);
    } catch (const std::exception&) {
      throw InputError("--shape '" + text + "': expected positive integers, e.g. 1,28,28");
    }
  }
  require(!shape.empty(), "--shape is empty: expected e.g. 1,28,28");
  return shape;
}

}  // namespace

int run_export(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Write a trained checkpoint's network (EMA weights) as a TorchScript "
                           "module: forward(x [B, ...], t [B]) returns its prediction; "
                           "attributes prediction, process, shape, num_classes, sigma_data. "
                           "Kinds: linear, two-layer, mlp, subspace.");
  options.add_options()("h,help", "print this help")(
      "model", "a trained checkpoint (diffuse train)", cxxopts::value<std::string>())(
      "o,out", "the TorchScript file to write", cxxopts::value<std::string>())(
      "shape", "per-sample shape of x, e.g. 1,28,28 (default: the data's, e.g. 784)",
      cxxopts::value<std::string>())("raw", "the raw weights instead of the EMA weights");
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  require(args.count("model") == 1, "diffuse export: expected --model CHECKPOINT");
  require(args.count("out") == 1, "diffuse export: expected --out FILE (e.g. model.ts)");
  const std::string checkpoint = args["model"].as<std::string>();
  const std::string out = args["out"].as<std::string>();
  const LoadedModel loaded = load_model(checkpoint, torch::dtype(torch::kFloat32),
                                        /*ema=*/args.count("raw") == 0);
  std::vector<std::int64_t> shape = data_sample_shape(loaded.data);
  if (args.count("shape")) {
    const auto given = parse_export_shape(args["shape"].as<std::string>());
    std::int64_t n = 1, d = 1;
    for (auto v : given) n *= v;
    for (auto v : shape) d *= v;
    require(n == d, "--shape " + args["shape"].as<std::string>() + " holds " + std::to_string(n) +
                        " values; the model's rows hold " + std::to_string(d));
    shape = given;
  }
  const auto module = export_torchscript(*loaded.model, loaded.model_config,
                                         loaded.process_config, shape);
  save_torchscript(module, out);
  const nlohmann::json record = {{"command", "export"},
                                 {"model", checkpoint},
                                 {"step", loaded.step},
                                 {"weights", args.count("raw") ? "raw" : "ema"},
                                 {"prediction", module.attr("prediction").toStringRef()},
                                 {"process", loaded.process->name()},
                                 {"shape", shape},
                                 {"out", out}};
  std::cout << record.dump() << std::endl;
  return 0;
}

}  // namespace diffuse::cli
