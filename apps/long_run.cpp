#include "apps/long_run.h"

#include "core/base/config.h"
#include "models/checkpoint.h"

#include <atomic>
#include <csignal>
#include <iostream>

namespace diffuse::cli {

namespace {

std::atomic<bool> interrupt_requested{false};

void request_stop_on_interrupt(int) {
  interrupt_requested = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

}  // namespace

RunStart read_run_start(const cxxopts::ParseResult& args) {
  RunStart start{args.count("resume") ? args["resume"].as<std::string>() : "",
                 YAML::Node(YAML::NodeType::Map)};
  if (args.count("config"))
    start.root = config::read_file(args["config"].as<std::string>());
  else if (!start.resume.empty())
    start.root = read_checkpoint_config(start.resume);
  return start;
}

void run_interruptible(const cxxopts::ParseResult& args,
                       const std::function<void(const TrainControl&)>& loop) {
  TrainControl control;
  if (args.count("stop-at")) control.stop_at = args["stop-at"].as<std::int64_t>();
  control.interrupt = &interrupt_requested;
  const auto previous = std::signal(SIGINT, request_stop_on_interrupt);
  try {
    loop(control);
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
}

int report_run(const nlohmann::json& summary, bool interrupted, std::int64_t step,
               const std::string& checkpoint) {
  std::cout << summary.dump() << std::endl;
  if (!interrupted) return 0;
  std::cerr << "interrupted: checkpoint saved at step " << step << "; continue with --resume "
            << checkpoint << "\n";
  return 130;
}

}  // namespace diffuse::cli
