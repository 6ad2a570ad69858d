// The run config of a command that starts from a trained checkpoint (`sample --model`,
// `eval --model`): the checkpoint's own config is the base, so process, data and model are what
// the network was trained with; a --config file adds its other sections (sampler, sample,
// metrics, ...), then --set and the command's flags apply. Changing process, data or model of a
// checkpoint is an InputError, except data.split and data.per_class of images (held-out data of
// the same distribution).
#pragma once

#include "apps/cli.h"

#include <string>
#include <vector>

namespace diffuse::cli {

RunConfig load_checkpoint_run_config(const cxxopts::ParseResult& args,
                                     const std::vector<FlagBinding>& flags,
                                     const std::string& checkpoint);

}  // namespace diffuse::cli
