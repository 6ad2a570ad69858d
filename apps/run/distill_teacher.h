// What `diffuse distill` learns from (distill.teacher), resolved into the run config:
//   analytic     the exact score of the config's Gaussian mixture (data must be one);
//   CHECKPOINT   a score network of `diffuse train` (its EMA weights): the student inherits its
//                process and data, and its model config unless the config gives a `model:`;
//   MODULE.ts    a TorchScript score model (models/torchscript.h) under the config's process and
//                data; its attributes, or a module of diffuse export, say what it predicts;
//   none         no teacher: consistency training.
// The student is always model.consistency = true, and the run's sampler becomes `consistency`
// (one step) unless the config already names it, so `sample --model` of the result needs no flags.
#pragma once

#include "apps/run/run_config.h"
#include "models/score_model.h"

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

namespace diffuse {

// root: the config as given (to tell which sections the user set). Returns the teacher on
// options' device (null for none); InputError for an unset teacher, a process or data that
// contradicts the teacher's, a teacher that is itself a consistency model, or a student that is
// not a network kind.
ScoreModelPtr prepare_distillation(RunConfig& config, const YAML::Node& root,
                                   const torch::TensorOptions& options);

}  // namespace diffuse
