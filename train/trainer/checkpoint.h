// Training checkpoints (docs/design.md "Files on disk"): model, EMA, optimiser state, step,
// RNG state and the resolved config in one archive (the layout of models/checkpoint.h), written
// to a temporary file in the same folder and renamed over the target, so a reader (or a crash)
// only ever sees the old file or the new one. The RNG state is the seed: every step's draws are
// keyed by (seed, step) (train/trainer/step_rng.h).
//
//   save_training_checkpoint("runs/x/checkpoint.pt", {model, ema, optimizer, step, seed, yaml});
//   std::int64_t step = load_training_checkpoint(path, model, ema, optimizer, seed);
#pragma once

#include "models/network.h"
#include "train/trainer/ema.h"
#include "train/trainer/training_objective.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace diffuse {

struct TrainingState {
  const NetworkModel& model;
  const Ema& ema;
  const torch::optim::Optimizer& optimizer;
  std::int64_t step;
  std::uint64_t seed;
  const std::string& config_yaml;
  NamedModules extra = {};  // an objective's state (train/trainer/training_objective.h), saved by name
};

void save_training_checkpoint(const std::string& path, const TrainingState& state);

// Restores the weights, EMA and optimiser state saved at `path` into objects built from the
// current config (and the `extra` modules by name) and returns the step. InputError when the
// checkpoint holds another model kind, another shape or another seed, or lacks an extra module.
std::int64_t load_training_checkpoint(const std::string& path, NetworkModel& model, Ema& ema,
                                      torch::optim::Optimizer& optimizer, std::uint64_t seed,
                                      const NamedModules& extra = {});

}  // namespace diffuse
