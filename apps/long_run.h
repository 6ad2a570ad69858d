// What the long-running commands (train, distill, finetune) share: the config root from --config
// or from the checkpoint being resumed, Ctrl-C that saves a checkpoint, and the closing report.
#pragma once

#include "train/trainer/trainer.h"

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>

namespace diffuse::cli {

struct RunStart {
  std::string resume;  // --resume CHECKPOINT, or empty
  YAML::Node root;     // --config's YAML, else the resumed checkpoint's, else an empty map
};

RunStart read_run_start(const cxxopts::ParseResult& args);

// Runs `loop` with --stop-at and a SIGINT handler that asks it to save and stop (a second Ctrl-C
// ends the process at once); the previous handler is restored afterwards.
void run_interruptible(const cxxopts::ParseResult& args,
                       const std::function<void(const TrainControl&)>& loop);

// Prints `summary` as the command's JSON line; an interrupted run also says how to continue.
// Returns the exit code: 130 when interrupted, else 0.
int report_run(const nlohmann::json& summary, bool interrupted, std::int64_t step,
               const std::string& checkpoint);

}  // namespace diffuse::cli
