// diffuse sample: draw samples from a model (the analytic mixture score or a trained checkpoint)
// with a sampler.
#include "apps/checkpoint_config.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/eval/model_sampler.h"
#include "apps/run/outputs.h"
#include "core/base/errors.h"
#include "core/io/npy.h"
#include "core/process/process.h"
#include "models/checkpoint.h"
#include "models/denoiser.h"
#include "models/guidance.h"
#include "samplers/common.h"
#include "samplers/sampler_table.h"

#include <iostream>

namespace diffuse::cli {

int run_sample(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Draw samples from a model with a sampler; writes samples "
                           "(.npy), a picture (.png) and a JSON line of timings.");
  add_common_options(options);
  options.add_options("Sample")("sampler",
                                "sampler name (see --list-samplers; config key: sampler.name)",
                                cxxopts::value<std::string>())(
      "steps", "time-grid steps K (config key: sampler.steps)", cxxopts::value<std::string>())(
      "times", "a grid file (diffuse schedule's .yaml, with its eval_times: if fitted; .npy or "
      "text; config key: sampler.times_file)", cxxopts::value<std::string>())(
      "n,num-samples", "number of samples (config key: sample.num_samples)",
      cxxopts::value<std::string>())(
      "label",
      "class-conditional models: the class to draw, -1 for each in turn (config key: "
      "sample.label)",
      cxxopts::value<std::string>())(
      "guidance",
      "classifier-free guidance weight w, 0 = conditional only (config key: "
      "sample.guidance; default 1)",
      cxxopts::value<std::string>())("batch-size",
                                     "samples per batch (config key: sample.batch_size)",
                                     cxxopts::value<std::string>())(
      "noise", "initial noise x_T as .npy [num_samples, dims] (config key: sample.noise)",
      cxxopts::value<std::string>())("o,out", "output .npy (config key: sample.out)",
                                     cxxopts::value<std::string>())(
      "list-samplers", "list every sampler with its order, NFE and processes")(
      "markdown", "with --list-samplers: as the Markdown table of the README")(
      "model",
      "a trained checkpoint (diffuse train): sample its EMA weights with its process, "
      "data and model",
      cxxopts::value<std::string>());
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  const std::vector<FlagBinding> flags = {{"sampler", "sampler.name"},
                                          {"steps", "sampler.steps"},
                                          {"times", "sampler.times_file"},
                                          {"num-samples", "sample.num_samples"},
                                          {"batch-size", "sample.batch_size"},
                                          {"noise", "sample.noise"},
                                          {"label", "sample.label"},
                                          {"guidance", "sample.guidance"},
                                          {"out", "sample.out"}};
  const std::string checkpoint = args.count("model") ? args["model"].as<std::string>() : "";
  RunConfig config = checkpoint.empty() ? load_run_config(args, flags)
                                        : load_checkpoint_run_config(args, flags, checkpoint);
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  const auto process = make_process(config.process);
  if (args.count("markdown") && !args.count("list-samplers"))
    throw InputError("--markdown goes with --list-samplers (it prints the sampler table)");
  if (args.count("list-samplers")) {
    if (args.count("markdown"))
      std::cout << sampler_table_markdown();
    else
      std::cout << sampler_table_text(config.sampler.steps);
    return 0;
  }
  config.sampler =
      sampler_for_model(config, *process, checkpoint.empty() ? "the model" : checkpoint);
  const RunContext run = set_up_run(config);
  Denoiser denoiser(checkpoint.empty()
                        ? make_model(config.model, process, config.data, run.options())
                        : load_model(checkpoint, run.options()).model,
                    process);

  GenerateRequest request;
  request.num_samples = config.sample.num_samples;
  request.batch_size = config.sample.batch_size;
  request.seed = static_cast<std::uint64_t>(config.seed);
  if (!config.sample.noise.empty()) request.initial_noise = load_npy(config.sample.noise);
  const auto num_classes = denoiser.model()->num_classes();
  if (num_classes > 0) {
    request.labels = sample_labels(request.num_samples, num_classes, config.sample.label);
    request.guidance = config.sample.guidance;
  } else if (config.sample.label >= 0) {
    throw InputError("sample.label = " + std::to_string(config.sample.label) + " but " +
                     denoiser.model()->describe() +
                     " is unconditional (train with model.num_classes)");
  }
  const GenerateResult result = generate_with_progress(
      config.sampler, denoiser, data_sample_shape(config.data), run.options(), request);

  write_sample_outputs(config, result.samples);
  if (request.labels.defined())
    save_npy(sibling_path(config.sample.out, ".labels.npy"), request.labels);
  // A given grid (sampler.times or --times FILE) sets the steps, not sampler.steps.
  const auto times = given_times(config.sampler);
  const auto steps = times.empty() ? config.sampler.steps : static_cast<int>(times.size()) - 1;
  nlohmann::json record = {{"command", "sample"},
                           {"sampler", config.sampler.name},
                           {"steps", steps},
                           {"nfe", result.nfe},
                           {"process", process->name()},
                           {"model", denoiser.model()->describe()},
                           {"num_samples", request.num_samples},
                           {"device", run.device.str()},
                           {"dtype", config.dtype},
                           {"wall_s", result.seconds},
                           {"samples_per_s", request.num_samples / result.seconds},
                           {"out", config.sample.out}};
  if (!times.empty()) record["times"] = times;
  if (const auto eval_times = given_eval_times(config.sampler); !eval_times.empty())
    record["eval_times"] = eval_times;
  if (!result.cuda_graph.empty()) record["cuda_graph"] = result.cuda_graph;
  if (request.labels.defined()) {
    record["guidance"] = request.guidance;
    // Guidance evaluates the network twice per score evaluation (one batch of 2B rows).
    record["network_evaluations"] = request.guidance > 0.0 ? 2 * result.nfe : result.nfe;
  }
  append_metrics(config.sample.out, record);
  std::cout << record.dump() << std::endl;
  return 0;
}

}  // namespace diffuse::cli
