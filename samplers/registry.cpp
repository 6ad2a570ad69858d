#include "samplers/registry.h"

#include "core/base/errors.h"
#include "samplers/common.h"
#include "samplers/evaluation_times.h"
#include "samplers/families.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace diffuse {

const std::vector<SamplerInfo>& sampler_registry() {
  static const std::vector<SamplerInfo> rows = [] {
    std::vector<SamplerInfo> all;
    for (auto family : {ode_samplers, ddpm_samplers, sde_samplers, rk45_samplers,
                        dpm_solver_samplers, accelerated_samplers, unipc_samplers,
                        srk_samplers, consistency_samplers}) {
      auto rows = family();
      all.insert(all.end(), rows.begin(), rows.end());
    }
    return all;
  }();
  return rows;
}

const std::vector<std::string>& sampler_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& row : sampler_registry()) out.push_back(row.name);
    return out;
  }();
  return names;
}

SampleFunction::SampleFunction(Plain sampler)
    : call_([sampler](const Denoiser& d, torch::Tensor x, const TimeGrid& t, NoiseSource& n,
                      const SamplerConfig&) { return sampler(d, std::move(x), t, n); }) {}

std::function<std::int64_t(int)> evaluations_per_step(int per_step) {
  return [per_step](int steps) { return static_cast<std::int64_t>(per_step) * steps; };
}

bool SamplerInfo::supports(const ForwardProcess& process) const {
  return processes.empty() ||
         std::find(processes.begin(), processes.end(), process.name()) != processes.end();
}

std::string SamplerInfo::supported_processes() const {
  if (processes.empty()) return "all";
  std::string list;
  for (const auto& p : processes) list += (list.empty() ? "" : ",") + p;
  return list;
}

const std::vector<std::string>& sampler_specific_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> all;
    for (const auto& group : {EtaOptions::keys(), ChurnOptions::keys(), ToleranceOptions::keys(),
                              MultistepOptions::keys()})
      all.insert(all.end(), group.begin(), group.end());
    return all;
  }();
  return keys;
}

std::vector<std::string> ignored_sampler_options(const SamplerConfig& config) {
  // A key counts as set when its value differs from a default section's.
  const auto given = config::to_node(config), defaults = config::to_node(SamplerConfig{});
  const auto& reads = find_sampler(config.name).options();
  std::vector<std::string> ignored;
  for (const auto& key : sampler_specific_keys())
    if (config::to_yaml(given[key]) != config::to_yaml(defaults[key]) &&
        std::find(reads.begin(), reads.end(), key) == reads.end())
      ignored.push_back(key);
  return ignored;
}

const SamplerInfo& find_sampler(const std::string& name) {
  for (const auto& row : sampler_registry())
    if (row.name == name) return row;
  std::string list;
  for (const auto& n : sampler_names()) list += (list.empty() ? "" : ", ") + n;
  throw InputError("unknown sampler '" + name + "'; known samplers: " + list);
}

std::vector<double> sampler_grid(const SamplerConfig& config, const ForwardProcess& process) {
  const auto given = given_times(config);
  if (!given.empty()) {
    const auto& t = given;
    require(t.size() >= 2, "sampler.times: expected at least two times (start and end)");
    for (std::size_t i = 0; i < t.size(); ++i) {
      require(t[i] >= process.t_min() && t[i] <= process.t_max(),
              "sampler.times[" + std::to_string(i) + "] = " + std::to_string(t[i]) +
                  ": expected a time in [" + std::to_string(process.t_min()) + ", " +
                  std::to_string(process.t_max()) + "] of process " + process.name());
      // (The message is built eagerly, so it may read t[i - 1] only for i > 0: found by UBSan.)
      if (i > 0)
        require(t[i] < t[i - 1], "sampler.times: expected strictly decreasing times, got " +
                                     std::to_string(t[i - 1]) + " then " + std::to_string(t[i]));
    }
    return t;
  }
  TimeGridConfig grid;
  grid.kind = config.grid;
  grid.steps = config.steps;
  grid.rho = config.rho;
  grid.spacing = config.spacing;
  grid.t_end = config.t_end;
  for (const auto& row : sampler_registry())
    if (row.name == config.name && row.make_grid) return row.make_grid(process, grid);
  return make_time_grid(process, grid);
}

std::int64_t sampler_nfe(const SamplerConfig& config, const ForwardProcess& process) {
  const auto steps = static_cast<int>(sampler_grid(config, process).size()) - 1;
  const auto& row = find_sampler(config.name);
  if (row.adaptive) return -1;  // known only after the run (the Denoiser's evaluations())
  return row.nfe(steps) + (config.final_denoise ? 1 : 0);
}

torch::Tensor run_sampler(const SamplerConfig& config, const Denoiser& denoiser,
                          const torch::Tensor& x_T, NoiseSource& noise) {
  const auto& row = find_sampler(config.name);
  const auto& process = denoiser.process();
  if (!row.supports(process))
    throw InputError("sampler '" + row.name + "' does not support process '" + process.name() +
                     "' (it supports: " + row.supported_processes() + ")");
  const auto times = sampler_grid(config, process);
  // No sampler needs gradients; without this guard a trained network's every operation would
  // also record the autograd graph (a third of the time of a batch-1 step). Inference
  // mode (torch.inference_mode, as the Python peer runs) also skips version counters and view
  // tracking: another fifth of a batch-1 DDIM step of the ring8 mlp.
  c10::InferenceMode inference;
  const EvaluationTimeView shifted(denoiser, times, given_eval_times(config));
  const PredictionTransform transformed(shifted.view(), config);  // clip_x0, dynamic_threshold
  const Denoiser& view = transformed.view();
  auto x = row.sample(view, x_T, times, noise, config);
  if (config.final_denoise) x = view.x0(x, times.back());
  return x;
}

}  // namespace diffuse
