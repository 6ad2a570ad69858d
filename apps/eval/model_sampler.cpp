#include "apps/eval/model_sampler.h"

#include "samplers/common.h"
#include "samplers/consistency.h"
#include "train/consistency_schedule.h"

namespace diffuse::cli {

SamplerConfig sampler_for_model(const RunConfig& config, const ForwardProcess& process,
                                const std::string& what) {
  SamplerConfig sampler = config.sampler;
  require_consistency_sampler(config.model, sampler, what);
  if (config.model.consistency && given_times(sampler).empty())  // the grid it was trained on
    sampler.times =
        consistency_sampling_times(process, config.distill, config.train.steps, sampler.steps);
  return sampler;
}

}  // namespace diffuse::cli
