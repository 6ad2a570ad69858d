#include "apps/eval/schedule.h"

#include "core/base/errors.h"
#include "core/base/progress.h"
#include "samplers/registry.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace diffuse {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Noise batch `stream` (0: fit, 1: held-out) of the request's seed, at the prior's scale.
torch::Tensor schedule_noise(const ForwardProcess& process, std::uint64_t seed, int stream,
                             std::int64_t n, const std::vector<std::int64_t>& shape,
                             const torch::TensorOptions& options) {
  std::vector<std::int64_t> full = {n};
  full.insert(full.end(), shape.begin(), shape.end());
  NoiseSource noise(mix_seed(seed, 0x5c4ed17e, static_cast<std::uint64_t>(stream)), 0);
  return noise.next(full, options) * process.prior_std();
}

nlohmann::json distance_json(const MapDistance& d) {
  return {{"rms", d.rms}, {"median", d.median}, {"p99", d.p99}};
}

MapDistance run_grid(SamplerConfig sampler, const std::vector<double>& times,
                     const Denoiser& denoiser, const torch::Tensor& x_T,
                     const torch::Tensor& reference, const std::vector<double>& eval_times = {}) {
  sampler.times = times;
  sampler.eval_times = eval_times;
  sampler.times_file.clear();
  NoiseSource noise(0, 0);
  return map_distance(run_sampler(sampler, denoiser, x_T, noise), reference);
}

}  // namespace

ScheduleResult fit_schedule(SamplerConfig sampler, const Denoiser& denoiser,
                            const std::vector<std::int64_t>& sample_shape,
                            const torch::TensorOptions& options, const ScheduleRequest& request) {
  const ForwardProcess& process = denoiser.process();
  require(request.fit_samples >= 1 && request.heldout_samples >= 1,
          "diffuse schedule: expected at least one fit and one held-out sample");
  sampler.times.clear();
  sampler.eval_times.clear();
  sampler.times_file.clear();
  sampler.steps = steps_for_nfe(sampler, process, request.nfe);
  const auto start = std::chrono::steady_clock::now();

  const auto x_fit = schedule_noise(process, request.seed, 0, request.fit_samples, sample_shape,
                                    options);
  const auto x_held = schedule_noise(process, request.seed, 1, request.heldout_samples,
                                     sample_shape, options);
  const auto ends = sampler_grid(sampler, process);
  std::fprintf(stderr, "schedule: reference map (rk45, tol %g) of %lld fit + %lld held-out "
               "samples\n", request.reference_tol, static_cast<long long>(request.fit_samples),
               static_cast<long long>(request.heldout_samples));
  const auto ref_fit = reference_map(denoiser, x_fit, ends.front(), ends.back(),
                                     request.reference_tol);
  const auto ref_held = reference_map(denoiser, x_held, ends.front(), ends.back(),
                                      request.reference_tol);
  const double reference_s = seconds_since(start);

  GridFitOptions fit_options = request.fit;
  Progress progress("schedule", grid_fit_runs(fit_options), "runs");
  int reported = 0;
  fit_options.on_evaluation = [&](int done, int, double best) {
    progress.advance(done - reported);
    reported = done;
    std::ostringstream note;
    note << "fit RMS " << best;
    progress.set_note(note.str());
  };
  const auto fit_start = std::chrono::steady_clock::now();
  const GridFit fit = fit_time_grid(sampler, denoiser, x_fit, ref_fit, fit_options);
  progress.finish();
  const double fit_s = seconds_since(fit_start);

  nlohmann::json fit_json, held_json;
  for (const auto& [kind, rms] : fit.hand_rms) {
    SamplerConfig hand = sampler;
    hand.grid = kind;
    const auto times = sampler_grid(hand, process);
    fit_json[kind] = distance_json(run_grid(sampler, times, denoiser, x_fit, ref_fit));
    held_json[kind] = distance_json(run_grid(sampler, times, denoiser, x_held, ref_held));
  }
  fit_json["learned"] =
      distance_json(run_grid(sampler, fit.times, denoiser, x_fit, ref_fit, fit.eval_times));
  held_json["learned"] =
      distance_json(run_grid(sampler, fit.times, denoiser, x_held, ref_held, fit.eval_times));
  if (!fit.eval_times.empty()) {  // the same grid at its own times, to show what they bought
    fit_json["learned_times_only"] =
        distance_json(run_grid(sampler, fit.times, denoiser, x_fit, ref_fit));
    held_json["learned_times_only"] =
        distance_json(run_grid(sampler, fit.times, denoiser, x_held, ref_held));
  }

  SamplerConfig used = sampler;
  used.times = fit.times;
  ScheduleResult result;
  result.times = fit.times;
  result.eval_times = fit.eval_times;
  result.record = {{"command", "schedule"},
                   {"sampler", sampler.name},
                   {"nfe", sampler_nfe(used, process)},
                   {"steps", sampler.steps},
                   {"process", process.name()},
                   {"model", denoiser.model()->describe()},
                   {"seed", request.seed},
                   {"fit_samples", request.fit_samples},
                   {"heldout_samples", request.heldout_samples},
                   {"reference", {{"sampler", "rk45"}, {"tol", request.reference_tol}}},
                   {"start_grid", fit.start_grid},
                   {"restarts", request.fit.restarts},
                   {"shift_runs", request.fit.shift_evaluations},
                   {"evaluations", fit.evaluations},
                   {"fit", fit_json},
                   {"heldout", held_json},
                   {"reference_s", reference_s},
                   {"fit_s", fit_s},
                   {"wall_s", seconds_since(start)},
                   {"times", fit.times}};
  if (!fit.eval_times.empty()) result.record["eval_times"] = fit.eval_times;
  if (request.fit.shift_evaluations > 0) result.record["shift_start_fit_rms"] = fit.times_rms;
  return result;
}

std::string grid_file_text(const ScheduleResult& result) {
  const auto& r = result.record;
  std::ostringstream out;
  out.precision(17);
  const auto list = [&out](const std::vector<double>& values) {
    out << "[";
    for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
    out << "]\n";
  };
  out << "# A learned time grid (diffuse schedule; docs/learned_grids.md). Use it with\n"
      << "#   diffuse sample --sampler " << r["sampler"].get<std::string>()
      << " --times <this file>   (or sampler.times_file)\n"
      << "sampler: " << r["sampler"].get<std::string>() << "\n"
      << "nfe: " << r["nfe"].get<std::int64_t>() << "\n"
      << "process: " << r["process"].get<std::string>() << "\n"
      << "times: ";
  list(result.times);
  if (!result.eval_times.empty()) {
    out << "# the denoiser's time at each grid time (decoupled evaluation times)\n"
        << "eval_times: ";
    list(result.eval_times);
  }
  out << "record: " << r.dump() << "\n";
  return out.str();
}

}  // namespace diffuse
