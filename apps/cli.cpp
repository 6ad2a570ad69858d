#include "apps/cli.h"

#include "core/base/errors.h"

#include <iostream>

namespace diffuse::cli {

void add_common_options(cxxopts::Options& options) {
  options.add_options("Run")
      ("c,config", "YAML run config (see configs/)", cxxopts::value<std::string>())
      ("set", "override a config key, e.g. --set sampler.steps=50 (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("print-config", "print the resolved config as YAML and exit")
      ("device", "auto | cpu | cuda | cuda:N (config key: device)", cxxopts::value<std::string>())
      ("dtype", "float32 | float64 (config key: dtype)", cxxopts::value<std::string>())
      ("seed", "random seed; equal seeds give identical results on CPU (config key: seed)",
       cxxopts::value<std::string>())
      ("threads", "LibTorch CPU threads (config key: threads; default 1, fastest on 2 cores)",
       cxxopts::value<std::string>())
      ("precision", "fp32 | tf32 (CUDA matmuls) | bf16 (networks under autocast) (config key: "
                    "precision)", cxxopts::value<std::string>())
      ("h,help", "show this help");
}

cxxopts::ParseResult parse(cxxopts::Options& options, int argc, char** argv) {
  try {
    return options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw InputError(std::string(e.what()) + " (see " + options.program() + " --help)");
  }
}

bool printed_help(const cxxopts::Options& options, const cxxopts::ParseResult& args) {
  if (!args.count("help")) return false;
  std::cout << options.help() << "\n";
  return true;
}

RunConfig load_run_config(const cxxopts::ParseResult& args, const std::vector<FlagBinding>& flags) {
  YAML::Node root(YAML::NodeType::Map);
  if (args.count("config")) root = config::read_file(args["config"].as<std::string>());
  return load_run_config(root, args, flags);
}

RunConfig load_run_config(YAML::Node root, const cxxopts::ParseResult& args,
                          const std::vector<FlagBinding>& flags) {
  if (args.count("set"))
    for (const auto& assignment : args["set"].as<std::vector<std::string>>())
      config::apply_override(root, assignment);
  std::vector<FlagBinding> all = {
      {"device", "device"}, {"dtype", "dtype"}, {"seed", "seed"}, {"threads", "threads"},
      {"precision", "precision"}};
  all.insert(all.end(), flags.begin(), flags.end());
  for (const auto& [flag, key] : all)
    if (args.count(flag)) config::apply_override(root, key + "=" + args[flag].as<std::string>());
  return config::load<RunConfig>(root);
}

}  // namespace diffuse::cli
