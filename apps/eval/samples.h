// Measuring samples of mixture data against the exact Gaussian mixture: the metrics of
// core/metrics/metrics.h plus, for low-rank mixtures, the distance to the nearest component
// subspace and, in at most 8 dimensions, the kNN KL estimate. Shared by `eval --samples` and
// `eval --model --sample`. With a time t, also KL(samples || q_t), q_t the data noised by the
// run's process to t (core/metrics/noised_kl.h), beside the same estimate on as many exact draws of
// q_t: the estimator's floor at that sample size.
#pragma once

#include "apps/run/run_config.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace diffuse {

// samples: [n, D]; name: for messages. InputError when the data has no exact mixture or D differs.
nlohmann::json evaluate_mixture_samples(const RunConfig& config, const torch::Tensor& samples,
                                        const std::string& name,
                                        std::optional<double> noised_to = std::nullopt);

}  // namespace diffuse
