// The sampler config a model is sampled with: the run's `sampler:` section, checked against the
// model (a consistency model takes only the `consistency` sampler) and, for a consistency model
// without explicit times, placed on the grid it was distilled on; and generate() with a progress
// line on stderr. Shared by `diffuse sample` and `diffuse eval --model --sample`.
#pragma once

#include "apps/run/run_config.h"
#include "core/process/process.h"
#include "samplers/generate.h"

#include <string>

namespace diffuse {

// what: the model's name in messages (a checkpoint path, say).
SamplerConfig sampler_for_model(const RunConfig& config, const ForwardProcess& process,
                                const std::string& what);

// generate(...) reporting the samples drawn so far as "sample" progress (core/base/progress.h).
GenerateResult generate_with_progress(const SamplerConfig& sampler, const Denoiser& denoiser,
                                      const std::vector<std::int64_t>& sample_shape,
                                      const torch::TensorOptions& options, GenerateRequest request);

}  // namespace diffuse
