// What every `diffuse` command shares: the common options, loading the run config (file, then
// --set overrides, then the command's own flags), --print-config, and the run set-up (threads,
// device, dtype, the BLAS check). Commands stay thin: parse, build, one library call, write.
#pragma once

#include "apps/run_config.h"

#include <cxxopts.hpp>

#include <string>
#include <utility>
#include <vector>

namespace diffuse::cli {

// Adds --config, --set, --print-config, --device, --dtype, --seed, --threads and --help.
void add_common_options(cxxopts::Options& options);

// Parses argv; an unknown option or a bad value is an InputError (exit 2) naming it.
cxxopts::ParseResult parse(cxxopts::Options& options, int argc, char** argv);

// With --help: prints the options' help to stdout and returns true (the command then exits 0).
bool printed_help(const cxxopts::Options& options, const cxxopts::ParseResult& args);

// A command flag that maps onto a config key: "--steps 50" is "--set sampler.steps=50".
struct FlagBinding {
  std::string flag;
  std::string key;
};

// The resolved RunConfig: --config file (optional), --set overrides in order, then each bound
// flag the user gave. Every error names the key path.
RunConfig load_run_config(const cxxopts::ParseResult& args, const std::vector<FlagBinding>& flags);

// The same over a given base config (e.g. a checkpoint's) instead of the --config file.
RunConfig load_run_config(YAML::Node root, const cxxopts::ParseResult& args,
                          const std::vector<FlagBinding>& flags);

// What a run needs at hand once the config is resolved.
struct RunContext {
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kFloat32;
  torch::TensorOptions options() const { return torch::TensorOptions().device(device).dtype(dtype); }
};

// Applies threads, resolves device and dtype, seeds LibTorch's global generator, prints the BLAS
// warning when it applies.
RunContext set_up_run(const RunConfig& config);

// Writes the resolved config to `path` (atomically).
void save_config(const RunConfig& config, const std::string& path);

// `runs/x/samples.npy` -> `runs/x/samples` + suffix.
std::string sibling_path(const std::string& path, const std::string& suffix);

}  // namespace diffuse::cli
