// The discretisation of consistency distillation and training (Song et al. 2023, Sec. 4-5;
// Song & Dhariwal 2023, Sec. 3.3-3.5): N times t_1 < ... < t_N spanning [t_min, t_max] spaced
// like a sampler grid (karras: uniform in s^(1/rho), s = sigma / alpha, the paper's choice), N
// fixed or growing over training, which adjacent pair (t_n, t_{n+1}) each example gets, and the
// pair's loss weight.
//
//   int n = discretisation_size(config, step, total_steps);
//   std::vector<double> t = discretisation(*process, config, n);      // ascending, t[0] = t_min
//   torch::Tensor i = sample_pairs(*process, config, t, batch, gen);  // [B] int64 in [0, n - 2]
//   torch::Tensor w = pair_weights(*process, config, t, i);           // [B] float64
#pragma once

#include "core/process/process.h"
#include "train/consistency/distill_config.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace diffuse {

// N at 0-based training step k of K. fixed: config.n. improved (Song & Dhariwal 2023, eq. 8):
// min(s0 2^floor(k / K'), s1) + 1 with K' = floor(K / (floor(log2(s1 / s0)) + 1)), s0 = n_min,
// s1 = n_max.
int discretisation_size(const DistillConfig& config, std::int64_t step, std::int64_t total_steps);

// t_1 < ... < t_N: the config's grid kind with N - 1 intervals, ascending.
std::vector<double> discretisation(const ForwardProcess& process, const DistillConfig& config,
                                   int n);

// Index i of the pair (t[i], t[i + 1]) for each of `batch` examples: uniform on 0..N-2, or
// log-normal (iCT): P(i) proportional to erf((log s_{i+1} - p_mean) / (sqrt(2) p_std)) -
// erf((log s_i - p_mean) / (sqrt(2) p_std)).
torch::Tensor sample_pairs(const ForwardProcess& process, const DistillConfig& config,
                           const std::vector<double>& times, std::int64_t batch,
                           at::Generator generator);

// The descending times of K-step consistency sampling on the discretisation a model was
// distilled on (its last N; total_steps: train.steps): K + 1 of its points, evenly spaced in the
// index from t_N down to t_1, as in Song et al.'s multistep sampler. A model trained on fixed
// points is unreliable between them (measured on the ring: sliced W2 0.13-0.17 at any grid
// point as the intermediate time, 0.23 and 1.24 at sigma = 2 and 16 between points). InputError
// when K exceeds N - 1.
std::vector<double> consistency_sampling_times(const ForwardProcess& process,
                                               const DistillConfig& config,
                                               std::int64_t total_steps, int steps);

// The loss weight lambda of each pair: 1 (uniform), or 1 / (s_{i+1} - s_i) (inverse-gap, iCT).
torch::Tensor pair_weights(const ForwardProcess& process, const DistillConfig& config,
                           const std::vector<double>& times, const torch::Tensor& pairs);

}  // namespace diffuse
