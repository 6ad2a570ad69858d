// Drawing many samples in batches: initial noise (from the seed or given), the sampler, the
// batches stitched back together. Sample i depends only on (seed, i) — never on the batch size.
//
//   GenerateRequest request{.num_samples = 10000, .batch_size = 4096, .seed = 0};
//   GenerateResult result = generate(config.sampler, denoiser, {2}, options, request);
#pragma once

#include "samplers/sampler.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace diffuse {

struct GenerateRequest {
  std::int64_t num_samples = 1;
  std::int64_t batch_size = 1;
  std::uint64_t seed = 0;
  torch::Tensor initial_noise;  // optional x_T [num_samples, dims...]; else drawn from the seed
  // Class-conditional models: one label per sample [num_samples] and the classifier-free
  // guidance weight (models/guidance.h); undefined labels: the model's unconditional call.
  torch::Tensor labels;
  double guidance = 0.0;
  std::function<void(std::int64_t done)> on_batch;  // progress, called after each batch
};

struct GenerateResult {
  torch::Tensor samples;      // [num_samples, dims...] on the CPU
  std::int64_t nfe = 0;       // model evaluations per sample (equal for every batch)
  double seconds = 0.0;       // wall time of the sampling itself
  // On CUDA: "replayed" when the batches ran as CUDA graphs, else why they ran eagerly; empty
  // on the CPU.
  std::string cuda_graph;
};

// sample_shape: the shape of one sample, e.g. {2} or {784}. InputError for a noise tensor of the
// wrong shape and for a sampler that does not support the denoiser's process.
GenerateResult generate(const SamplerConfig& config, const Denoiser& denoiser,
                        const std::vector<std::int64_t>& sample_shape,
                        const torch::TensorOptions& options, const GenerateRequest& request);

}  // namespace diffuse
