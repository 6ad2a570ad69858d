// Checkpoint files (docs/design.md "Files on disk"): one torch::serialize archive holding
//   format  "diffuse-checkpoint-1"      kind    the model.kind        step  the training step
//   config  the resolved run config (YAML text: process, data, model, train, ...)
//   model   the network's parameters and buffers   ema  the same, of the EMA weights
//   optimizer, rng                      the trainer's state (train/trainer/checkpoint.h)
// The trainer writes it to a temporary name and renames it (core/io/atomic_file.h). Sampling
// needs only the first part:
//
//   LoadedModel loaded = load_model("runs/ring8-mlp/checkpoint.pt", options);  // EMA weights
//   Denoiser denoiser(loaded.model, loaded.process);
#pragma once

#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "models/model_factory.h"
#include "models/network.h"

#include <torch/serialize.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

namespace diffuse {

inline constexpr const char* kCheckpointFormat = "diffuse-checkpoint-1";

// Checks that the zip archive at `path` is whole: its directory is present and every record
// matches the CRC-32 the writer stored (LibTorch's reader does not check them). InputError
// "<what> <path>: not a readable diffuse checkpoint (...)" naming the damaged record, or
// "not a diffuse checkpoint" for a file that is no zip archive at all.
void check_archive_file(const std::string& path, const std::string& what = "checkpoint");

// Opens a checkpoint with its tensors on `device`; InputError for a missing file, a truncated or
// damaged one (check_archive_file), or one that is not a diffuse checkpoint.
void open_checkpoint(const std::string& path, torch::serialize::InputArchive& archive,
                     const torch::Device& device = torch::kCPU);

struct CheckpointHeader {
  std::string kind;    // model.kind
  std::string config;  // resolved run config, YAML
  std::int64_t step = 0;
};

void write_header(torch::serialize::OutputArchive& archive, const CheckpointHeader& header);
// Writes `archive` to `path` whole or not at all (a temporary file, then a rename), creating the
// folder; a failed write (a full disk) is an error and leaves any earlier file as it was.
void save_archive_atomically(torch::serialize::OutputArchive& archive, const std::string& path);
// The run config a checkpoint carries; InputError as open_checkpoint, or for unreadable YAML.
YAML::Node read_checkpoint_config(const std::string& path);
// InputError when kind, config or a non-negative integer step is missing.
CheckpointHeader read_header(torch::serialize::InputArchive& archive, const std::string& path);

// Reads a module's parameters and buffers saved by Module::save, checking every name and shape
// against `module` first (LibTorch's own load would silently take a tensor of another shape).
// InputError naming `what` (e.g. "runs/x/checkpoint.pt: model") and the first mismatch.
void read_module_state(torch::serialize::InputArchive& archive, torch::nn::Module& module,
                       const std::string& what);

struct LoadedModel {
  NetworkModelPtr model;
  ProcessPtr process;
  YAML::Node config;  // the checkpoint's whole run config
  ProcessConfig process_config;
  DataConfig data;
  ModelConfig model_config;
  std::int64_t step = 0;
};

// The checkpoint's model with its EMA weights (ema = false: the raw weights), on options'
// device and dtype, with the process and data of its config.
LoadedModel load_model(const std::string& path, const torch::TensorOptions& options,
                       bool ema = true);

}  // namespace diffuse
