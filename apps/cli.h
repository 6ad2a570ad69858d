// What every `diffuse` command shares: the common options, loading the run config (file, then
// --set overrides, then the command's own flags) and --print-config; the run set-up (threads,
// device, dtype, the BLAS check) is apps/run/run_context.h. Commands stay thin: parse, build,
// one library call, write.
#pragma once

#include "apps/run/run_context.h"

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

}  // namespace diffuse::cli
