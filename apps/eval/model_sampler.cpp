#include "apps/eval/model_sampler.h"

#include "core/base/progress.h"
#include "samplers/common.h"
#include "samplers/consistency.h"
#include "samplers/registry.h"
#include "train/consistency/consistency_schedule.h"

#include <iostream>

namespace diffuse {

SamplerConfig sampler_for_model(const RunConfig& config, const ForwardProcess& process,
                                const std::string& what) {
  SamplerConfig sampler = config.sampler;
  require_consistency_sampler(config.model, sampler, what);
  // A grid file of diffuse schedule names the sampler it was fitted for.
  const std::string fitted = grid_file_sampler(sampler.times_file);
  if (!fitted.empty() && fitted != sampler.name)
    std::cerr << "warning: " << sampler.times_file << " was fitted for sampler '" << fitted
              << "', not '" << sampler.name << "'\n";
  for (const auto& key : ignored_sampler_options(sampler))
    std::cerr << "warning: sampler." << key << " is ignored by sampler '" << sampler.name
              << "' (see diffuse sample --list-samplers for the options each one reads)\n";
  if (config.model.consistency && given_times(sampler).empty())  // the grid it was trained on
    sampler.times =
        consistency_sampling_times(process, config.distill, config.train.steps, sampler.steps);
  return sampler;
}

GenerateResult generate_with_progress(const SamplerConfig& sampler, const Denoiser& denoiser,
                                      const std::vector<std::int64_t>& sample_shape,
                                      const torch::TensorOptions& options,
                                      GenerateRequest request) {
  Progress progress("sample", request.num_samples, "samples");
  std::int64_t reported = 0;
  request.on_batch = [&](std::int64_t done) {
    progress.advance(done - reported);
    reported = done;
  };
  auto result = generate(sampler, denoiser, sample_shape, options, request);
  progress.finish();
  return result;
}

}  // namespace diffuse
