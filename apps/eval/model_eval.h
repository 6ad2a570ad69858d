// A trained network judged on its own objective and by its samples (`diffuse eval --model`): its
// DSM loss next to the analytic oracle's on the same draws (the exact minimum of the objective)
// and the score estimation error, for data with a Gaussian mixture, else its loss alone; and,
// when asked, samples drawn with the run's sampler and measured as `eval --samples` measures
// them (mixture metrics, or the classifier's for images). No argv: the command fills the request.
#pragma once

#include "apps/run/run_config.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace diffuse {

struct ModelEvalRequest {
  // A `diffuse train` (or distill, finetune) checkpoint, or a TorchScript module (`.ts`,
  // models/torchscript.h) under the config's process and data.
  std::string checkpoint;
  std::int64_t num_draws = 65536;  // DSM draws (x0, t, eps) to average over
  bool ema = true;                 // false: the raw weights
  std::int64_t samples = 0;        // > 0: also draw and measure this many samples
  std::string classifier;          // image data: a train-classifier checkpoint
};

// config: the checkpoint's run config (with the command's overrides). InputError for a
// consistency model without samples to measure (its f is not a score: it has no DSM loss) or
// image samples without a classifier.
nlohmann::json evaluate_model(const RunConfig& config, const ModelEvalRequest& request);

}  // namespace diffuse
