// The sampler registry: one row per sampler name. --list-samplers, config
// validation and the contract test suite all read this table.
//
//   for (const SamplerInfo& row : sampler_registry()) std::cout << row.name << "\n";
//   torch::Tensor x0 = run_sampler(config, denoiser, x_T, noise);
#pragma once

#include "samplers/sampler.h"

#include <vector>

namespace diffuse {

const std::vector<SamplerInfo>& sampler_registry();

// The row for a name; InputError listing the known names otherwise.
const SamplerInfo& find_sampler(const std::string& name);

// The descending time grid a run uses: the config's `times` or `times_file` when given (checked:
// descending, inside the process's range), else the named grid with config.steps intervals.
std::vector<double> sampler_grid(const SamplerConfig& config, const ForwardProcess& process);

// The sampler-specific keys (sampler_specific_keys) the config sets to other than their default
// although its sampler does not read them, e.g. `eta` with heun: a run warns about each.
std::vector<std::string> ignored_sampler_options(const SamplerConfig& config);

// Model evaluations a run of this config spends (the row's nfe plus a final denoising step);
// -1 for adaptive rows, whose cost is known only after the run.
std::int64_t sampler_nfe(const SamplerConfig& config, const ForwardProcess& process);

// Checks the sampler supports the process, builds the grid and runs it; returns samples at t_end,
// or the final denoised x0 with config.final_denoise. The sampler sees the denoiser through
// config.clip_x0 / dynamic_threshold when set (samplers/common.h).
torch::Tensor run_sampler(const SamplerConfig& config, const Denoiser& denoiser,
                          const torch::Tensor& x_T, NoiseSource& noise);

}  // namespace diffuse
