#include "apps/checkpoint_config.h"

#include "core/base/errors.h"
#include "models/checkpoint.h"

namespace diffuse::cli {

namespace {

bool from_checkpoint(const std::string& section) {
  return section == "process" || section == "data" || section == "model";
}

// The data a checkpoint was trained on, except which images of the same set are used: an
// evaluation on held-out images (`--set data.split=test`) measures the same network on the same
// distribution, so split and per_class may differ; path, kind and classes may not.
DataConfig trained_distribution(DataConfig data) {
  data.split.reset();
  data.per_class.reset();
  return data;
}

}  // namespace

RunConfig load_checkpoint_run_config(const cxxopts::ParseResult& args,
                                     const std::vector<FlagBinding>& flags,
                                     const std::string& checkpoint) {
  const YAML::Node saved = read_checkpoint_config(checkpoint);
  // Checked before the user's sections join it, so an error here names the checkpoint.
  RunConfig original;
  try {
    original = config::load<RunConfig>(saved);
  } catch (const InputError& e) {
    throw InputError(checkpoint + ": the checkpoint's " + e.what());
  }
  YAML::Node root = YAML::Clone(saved);
  if (args.count("config")) {
    const YAML::Node user = config::read_file(args["config"].as<std::string>());
    if (user.IsMap())
      for (const auto& entry : user) {
        const auto key = entry.first.as<std::string>();
        if (!from_checkpoint(key)) root[key] = entry.second;
      }
  }
  const RunConfig config = load_run_config(root, args, flags);
  const auto changed = [](const auto& a, const auto& b) {
    return config::to_yaml(a) != config::to_yaml(b);
  };
  for (const auto& [section, differs] :
       {std::pair<const char*, bool>{"process", changed(config.process, original.process)},
        {"data", changed(trained_distribution(config.data), trained_distribution(original.data))},
        {"model", changed(config.model, original.model)}})
    if (differs)
      throw InputError(std::string("config: ") + section + " comes from the checkpoint " +
                       checkpoint + " (what the network was trained on) and cannot be changed" +
                       (section == std::string("data") ? " (except data.split and data.per_class)"
                                                       : ""));
  return config;
}

}  // namespace diffuse::cli
