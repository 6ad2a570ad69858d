// diffuse eval: measure samples against the data's exact Gaussian mixture, or image samples
// through a trained classifier (apps/eval/images.h).
#include "apps/checkpoint_config.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/eval/images.h"
#include "apps/eval/model_eval.h"
#include "apps/eval/samples.h"
#include "apps/run/outputs.h"
#include "core/base/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "models/torchscript.h"

#include <iostream>

namespace diffuse::cli {

namespace {

std::string optional_path(const cxxopts::ParseResult& args, const char* name) {
  return args.count(name) ? args[name].as<std::string>() : "";
}

}  // namespace

int run_eval(int argc, char** argv) {
  cxxopts::Options options(argv[0], "Measure samples against the data's exact mixture (NLL per "
                                    "dimension, sliced W2, MMD, mode coverage, subspace distance, "
                                    "kNN KL) or image samples through a classifier, as one JSON "
                                    "object on stdout.");
  add_common_options(options);
  options.add_options("Eval")
      ("s,samples", "samples to measure (.npy, [n, D])", cxxopts::value<std::string>())
      ("classifier", "image data: a diffuse train-classifier checkpoint (class histogram, "
                     "Frechet distance to real test images)", cxxopts::value<std::string>())
      ("labels", "image data: .npy of the samples' intended classes (adds accuracy)",
       cxxopts::value<std::string>())
      ("noised-to", "mixture data: also estimate KL(samples || q_T), the data noised by the "
                    "config's process to time T (a sampler's last grid time: the theory's X_1), "
                    "with the estimator's floor on as many exact draws of q_T",
       cxxopts::value<double>())
      ("results", "also append the JSON object as one line to this JSON Lines file",
       cxxopts::value<std::string>());
  options.add_options("Eval a trained model")
      ("model", "a checkpoint, or a TorchScript MODULE.ts under --config's process and data: "
                "print its DSM loss and the analytic oracle's on the same draws",
       cxxopts::value<std::string>())
      ("num-draws", "DSM draws (x0, t, eps) to average over (default 65536)",
       cxxopts::value<std::int64_t>()->default_value("65536"))
      ("raw-weights", "score the raw weights instead of the EMA")
      ("sample", "with --model: also draw this many samples with the checkpoint's sampler "
                 "(--set sampler.name=..., sampler.steps=...) and measure them",
       cxxopts::value<std::int64_t>()->default_value("0"));
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  const std::string results = optional_path(args, "results");
  const auto finish = [&](const nlohmann::json& record) {
    if (!results.empty()) {
      ensure_parent_directory(results);
      JsonlWriter(results).write(record);
    }
    std::cout << record.dump() << std::endl;
    return 0;
  };
  // A checkpoint carries its config; a TorchScript module runs under --config's process and data.
  const auto model_config = [&](const std::string& path) {
    return is_torchscript_file(path) ? load_run_config(args, {})
                                     : load_checkpoint_run_config(args, {}, path);
  };
  if (args.count("model") && !args.count("samples") && !args.count("print-config")) {
    ModelEvalRequest request;
    request.checkpoint = args["model"].as<std::string>();
    request.num_draws = args["num-draws"].as<std::int64_t>();
    request.ema = !args.count("raw-weights");
    request.samples = args["sample"].as<std::int64_t>();
    request.classifier = optional_path(args, "classifier");
    return finish(evaluate_model(model_config(request.checkpoint), request));
  }
  const RunConfig config =
      args.count("model") ? model_config(args["model"].as<std::string>())
                          : load_run_config(args, {});
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  if (!args.count("samples"))
    throw InputError("eval: --samples FILE.npy or --model CHECKPOINT is required");
  const bool images = config.data.kind == "idx";
  const ImageEvalInputs image_inputs{args["samples"].as<std::string>(),
                                     optional_path(args, "classifier"),
                                     optional_path(args, "labels"), torch::Tensor()};
  if (images && image_inputs.classifier_path.empty())
    throw InputError("eval: data.kind = idx has no exact mixture; image samples are measured "
                     "through a classifier: give --classifier CKPT (diffuse train-classifier)");
  require(images || (image_inputs.classifier_path.empty() && image_inputs.labels_path.empty()),
          "eval: --classifier and --labels apply to image data (data.kind: idx), not " +
              config.data.kind);
  std::optional<double> noised_to;
  if (args.count("noised-to")) noised_to = args["noised-to"].as<double>();
  require(!images || !noised_to, "eval: --noised-to needs mixture data, not data.kind = idx");
  const RunContext run = set_up_run(config);
  const std::string& path = image_inputs.samples_path;
  auto record = images ? evaluate_image_samples(config, run.device, load_npy(path), image_inputs)
                       : evaluate_mixture_samples(config, load_npy(path, 2), path, noised_to);
  record["samples"] = path;
  record["data"] = config.data.kind;
  return finish(record);
}

}  // namespace diffuse::cli
