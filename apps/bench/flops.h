// Arithmetic rates for `diffuse bench`: the FLOPs of a network's forward pass, counted from its
// linear layers, and the machine's own matrix-product rate in the run's dtype and precision,
// measured, so that a configuration's achieved FLOP/s reads as a fraction of what the device
// can do.
//
//   double per_sample = forward_flops_per_sample(*network->module());   // 2 * sum(in * out)
//   PeakRate peak = measure_matmul_peak(run.options());                  // e.g. 51.2e12 FLOP/s
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace diffuse {

// 2 * in * out for each Linear layer, summed: the multiply-adds of one sample's forward pass.
// Element-wise work (embeddings' sin/cos, LayerNorm, activations) is left out: a few per cent of
// a residual MLP's.
double forward_flops_per_sample(const torch::nn::Module& network);

struct PeakRate {
  double flop_per_s = 0.0;
  std::int64_t n = 0;     // of the n x n x n product
  std::string dtype;      // the operands' dtype (bfloat16 under precision bf16)
};

// The best rate of several n x n x n products (n = 8192 on a GPU, 1024 on a CPU) in the run's
// dtype, or bfloat16 under precision bf16 (TF32 follows the run's precision flags).
PeakRate measure_matmul_peak(const torch::TensorOptions& options);

nlohmann::json to_json(const PeakRate& peak);

// {"tflop_per_s", "of_peak"} for `flops` of work done in `seconds`.
nlohmann::json achieved_rate(double flops, double seconds, const PeakRate& peak);

}  // namespace diffuse
