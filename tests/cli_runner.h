// Runs the real `diffuse` binary for command-line tests and captures its exit code and output.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "tests/temp_dir.h"

namespace diffuse::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `diffuse <arguments>` through the shell (arguments are passed as written).
CommandResult run_diffuse(const std::string& arguments);

// The JSON object a command printed last (stderr's progress lines come before it); null if none.
nlohmann::json last_json(const std::string& output);

}  // namespace diffuse::testing
