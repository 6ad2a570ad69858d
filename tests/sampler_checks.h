// Helpers of the sampler tests: the moment checks of tests/sampler_moments.h, and
// process_of(kind), a process with the kind's defaults.
#pragma once

#include "core/process.h"
#include "tests/sampler_moments.h"

#include <string>

namespace diffuse::testing {

inline ProcessPtr process_of(const std::string& kind) {
  ProcessConfig config;
  config.kind = kind;
  return make_process(config);
}

}  // namespace diffuse::testing
