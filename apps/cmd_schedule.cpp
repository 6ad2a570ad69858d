// diffuse schedule: fit a deterministic sampler's time grid at an NFE budget so that its output
// lands closest to the reference map of the same noise (the exact ODE map for the analytic
// mixture score, a tight rk45 run of the trained model for --model); writes a grid file that
// `diffuse sample --times` reads. The fit is samplers/learned_grid.h, the measuring apps/eval.
#include "apps/checkpoint_config.h"
#include "apps/cli.h"
#include "apps/commands.h"
#include "apps/eval/model_eval.h"
#include "apps/eval/schedule.h"
#include "apps/run/outputs.h"
#include "core/base/errors.h"
#include "core/base/format.h"
#include "core/io/atomic_file.h"
#include "core/process/process.h"
#include "models/checkpoint.h"
#include "models/denoiser.h"
#include "models/model_factory.h"
#include "models/torchscript.h"
#include "samplers/common.h"

#include <iostream>
#include <sstream>

namespace diffuse::cli {

namespace {

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int run_schedule(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Fit a deterministic sampler's time grid at an NFE budget against "
                           "the reference map of the same noise; writes a grid file for "
                           "diffuse sample --times.");
  add_common_options(options);
  options.add_options("Schedule")
      ("sampler", "a deterministic sampler (config key: sampler.name)",
       cxxopts::value<std::string>())
      ("nfe", "model evaluations of one run of the fitted grid", cxxopts::value<int>())
      ("o,out", "the grid file to write (.yaml)", cxxopts::value<std::string>())
      ("model", "a trained checkpoint or TorchScript MODULE.ts (under --config's process and "
                "data): fit against its own high-accuracy (rk45) output",
       cxxopts::value<std::string>())
      ("fit-samples", "noise draws the grid is fitted on",
       cxxopts::value<std::int64_t>()->default_value("1024"))
      ("heldout-samples", "other noise draws the grids are measured on",
       cxxopts::value<std::int64_t>()->default_value("4096"))
      ("max-runs", "sampler runs the search may spend",
       cxxopts::value<int>()->default_value("800"))
      ("grid-step", "first step of the grid search, on the log of each lambda increment "
                    "(smaller to refine a given grid)",
       cxxopts::value<double>()->default_value("0.5"))
      ("ref-tol", "rk45 rtol = atol of the reference map",
       cxxopts::value<double>()->default_value("1e-6"))
      ("start-grids", "hand-made grids to start from (the best one is used)",
       cxxopts::value<std::string>()->default_value("uniform,logsnr,quadratic,karras"))
      ("start-from", "grid files (.yaml or .npy, comma-separated) to start from as well, e.g. "
                     "one fitted at a neighbouring NFE; moved to this NFE's steps. A file at "
                     "this NFE's steps keeps its eval_times while the grid is searched, and "
                     "--shift-runs continue from them",
       cxxopts::value<std::string>()->default_value(""))
      ("restarts", "searches restarted from the best grid with randomly perturbed steps (from "
                   "--seed) after the first converges",
       cxxopts::value<int>()->default_value("0"))
      ("shift-runs", "after the grid, sampler runs that fit the time at which the model is "
                     "queried at each grid time (decoupled evaluation times, written as "
                     "eval_times:); 0: the grid's own times",
       cxxopts::value<int>()->default_value("0"))
      ("shift-step", "first step of the --shift-runs search, on the half log-SNR of each "
                     "evaluation time (smaller to refine given eval_times)",
       cxxopts::value<double>()->default_value("0.02"));
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  const std::vector<FlagBinding> flags = {{"sampler", "sampler.name"}};
  const std::string checkpoint = args.count("model") ? args["model"].as<std::string>() : "";
  // A TorchScript module (models/torchscript.h) runs under the --config's process and data.
  const bool module = is_torchscript_file(checkpoint);
  RunConfig config = checkpoint.empty() || module
                         ? load_run_config(args, flags)
                         : load_checkpoint_run_config(args, flags, checkpoint);
  if (module) {
    config.model.kind = "torchscript";
    config.model.path = checkpoint;
  }
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  require(args.count("nfe") > 0, "diffuse schedule: --nfe is required (the NFE budget to fit)");
  require(args.count("out") > 0, "diffuse schedule: --out is required (the grid file)");
  const std::string out = args["out"].as<std::string>();
  require(config.model.kind == "analytic" || config.model.kind == "torchscript" ||
              !checkpoint.empty(),
          "diffuse schedule: model.kind = " + config.model.kind + " is an untrained network; "
          "expected --model checkpoint.pt or MODULE.ts (a trained model) or model.kind = analytic");
  require(!config.model.consistency, "diffuse schedule: a consistency model maps noise in one "
                                     "step and has no time grid to fit; expected a score model");
  ScheduleRequest request;
  request.nfe = args["nfe"].as<int>();
  request.seed = static_cast<std::uint64_t>(config.seed);
  request.fit_samples = args["fit-samples"].as<std::int64_t>();
  request.heldout_samples = args["heldout-samples"].as<std::int64_t>();
  request.reference_tol = args["ref-tol"].as<double>();
  request.fit.max_evaluations = args["max-runs"].as<int>();
  request.fit.start_grids = comma_list(args["start-grids"].as<std::string>());
  for (const auto& path : comma_list(args["start-from"].as<std::string>())) {
    request.fit.start_times.push_back(load_times_file(path, "--start-from"));
    request.fit.start_eval_times.push_back(load_eval_times_file(path, "--start-from"));
    const auto& eval_times = request.fit.start_eval_times.back();
    require(eval_times.empty() || eval_times.size() == request.fit.start_times.back().size(),
            "--start-from '" + path + "': " + std::to_string(eval_times.size()) +
                " eval_times for " + std::to_string(request.fit.start_times.back().size()) +
                " times; expected one per grid time");
  }
  request.fit.restarts = args["restarts"].as<int>();
  request.fit.shift_evaluations = args["shift-runs"].as<int>();
  request.fit.shift_initial_step = args["shift-step"].as<double>();
  request.fit.initial_step = args["grid-step"].as<double>();
  request.fit.seed = request.seed;
  require(request.fit.restarts >= 0, "diffuse schedule: --restarts must be at least 0");
  require(request.fit.shift_evaluations >= 0,
          "diffuse schedule: --shift-runs must be at least 0");
  require(request.fit.shift_initial_step > request.fit.shift_min_step,
          "diffuse schedule: --shift-step must be above " +
              format_number(request.fit.shift_min_step) + " (the search's smallest step)");
  require(request.fit.initial_step > request.fit.min_step,
          "diffuse schedule: --grid-step must be above " +
              format_number(request.fit.min_step) + " (the search's smallest step)");
  require(request.reference_tol > 0.0, "diffuse schedule: --ref-tol must be positive");
  require(request.fit.max_evaluations >= 1, "diffuse schedule: --max-runs must be at least 1");
  for (const auto& kind : request.fit.start_grids)
    require(kind != "ddpm", "diffuse schedule: --start-grids takes uniform, logsnr, quadratic "
                            "or karras, not ddpm");

  const auto process = make_process(config.process);
  steps_for_nfe(config.sampler, *process, request.nfe);  // bad requests fail before any work
  ensure_parent_directory(out);
  const RunContext run = set_up_run(config);
  Denoiser denoiser(checkpoint.empty() || module
                        ? make_model(config.model, process, config.data, run.options())
                        : load_model(checkpoint, run.options()).model,
                    process);
  ScheduleResult result = fit_schedule(config.sampler, denoiser, data_sample_shape(config.data),
                                       run.options(), request);
  result.record["out"] = out;
  result.record["dtype"] = config.dtype;
  write_file_atomically(out, grid_file_text(result));
  std::cout << result.record.dump() << std::endl;
  return 0;
}

}  // namespace diffuse::cli
