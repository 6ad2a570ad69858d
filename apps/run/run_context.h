// A run once its config is resolved: the device and dtype it works in, set up once (threads,
// precision, the global seed, the BLAS check); and the files every run writes beside its outputs.
// Nothing here parses argv (apps/cli.h does), so the bench and evaluation libraries can use it.
#pragma once

#include "apps/run/run_config.h"

#include <torch/torch.h>

#include <string>

namespace diffuse {

// What a run needs at hand once the config is resolved.
struct RunContext {
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kFloat32;
  torch::TensorOptions options() const {
    return torch::TensorOptions().device(device).dtype(dtype);
  }
};

// Applies threads, resolves device and dtype, seeds LibTorch's global generator, prints the BLAS
// warning when it applies.
RunContext set_up_run(const RunConfig& config);

// Writes the resolved config to `path` (atomically).
void save_config(const RunConfig& config, const std::string& path);

// `runs/x/samples.npy` -> `runs/x/samples` + suffix.
std::string sibling_path(const std::string& path, const std::string& suffix);

}  // namespace diffuse
