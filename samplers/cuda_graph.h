// A sampler's whole step loop replayed as one CUDA graph. A small score network's
// step is dozens of tiny kernels whose launch costs more than their work; captured once for a
// batch shape, the K steps replay as one graph launch of the same kernels in the same order on
// the same inputs, so the samples equal the eager run's.
//
//   SamplerGraph graph(config, denoiser, x_T);   // captures, or keeps the reason it cannot
//   torch::Tensor x0 = graph.run(x_T, noise);    // replays; runs eagerly where it could not
//
// Only what is fixed at capture can be replayed: the grid and its coefficients, the weights and
// the batch shape (x_T is copied into the graph's input). So samplers that draw noise every step
// (per-(seed, sample) generators), adaptive ones (step sizes decided on the host), CPU tensors
// and builds without CUDA run eagerly, and obstacle() says why.
#pragma once

#include "samplers/sampler.h"

#include <cstdint>
#include <memory>
#include <string>

namespace diffuse {

// Why a run of this config from x_T cannot be captured ("" when it can be tried).
std::string graph_capture_obstacle(const SamplerConfig& config, const torch::Tensor& x_T);

class SamplerGraph {
 public:
  // Captures run_sampler(config, denoiser, ·) for x_T's shape, dtype and device, after one eager
  // warm-up run on the capture stream (cuBLAS handles and workspaces, the allocator's pool).
  // The denoiser must outlive the graph.
  SamplerGraph(const SamplerConfig& config, const Denoiser& denoiser, const torch::Tensor& x_T);
  ~SamplerGraph();
  SamplerGraph(const SamplerGraph&) = delete;
  SamplerGraph& operator=(const SamplerGraph&) = delete;

  bool captured() const { return captured_ != nullptr; }
  const std::string& obstacle() const { return obstacle_; }  // why it runs eagerly

  // x_0 for this x_T (same shape, dtype and device as the capture's): a replay, or an eager
  // run_sampler where there is no graph. The result is the caller's own tensor.
  torch::Tensor run(const torch::Tensor& x_T, NoiseSource& noise) const;

  // Model evaluations of one run (counted in the warm-up or the last eager run); -1 before any.
  std::int64_t nfe() const { return nfe_; }

 private:
  struct Captured;
  torch::Tensor replay(const torch::Tensor& x_T) const;

  SamplerConfig config_;
  const Denoiser& denoiser_;
  std::unique_ptr<Captured> captured_;
  std::string obstacle_;
  mutable std::int64_t nfe_ = -1;
};

}  // namespace diffuse
