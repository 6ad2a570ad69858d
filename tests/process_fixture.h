// process_of(kind): a forward process of that kind with the kind's defaults, as tests want it.
#pragma once

#include <string>

#include "core/process/process.h"

namespace diffuse::testing {

inline ProcessPtr process_of(const std::string& kind) {
  ProcessConfig config;
  config.kind = kind;
  return make_process(config);
}

}  // namespace diffuse::testing
