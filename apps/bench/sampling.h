// One sampling configuration of `diffuse bench`: a sampler at K steps on a batch of B samples of
// a model. Its x_T is drawn from the seed as `diffuse sample` draws it; the first run's output
// (x_0) and evaluation count are kept for the peer's check; each further run is timed from x_T
// to x_0 on the host (grid, step coefficients, every model evaluation, the copy to the CPU).
//
//   SamplingCase c(denoiser, {"ddim", 20, 1024}, {2}, options, /*seed=*/0);
//   double seconds = c.time_run();
//   if (c.capture_graph().empty()) seconds = c.time_graph_run();   // CUDA: the same as a graph
#pragma once

#include "models/denoiser.h"
#include "samplers/cuda_graph.h"
#include "samplers/sampler.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace diffuse {

struct SamplingSpec {
  std::string sampler;
  int steps = 20;
  std::int64_t batch = 1;
};

class SamplingCase {
 public:
  SamplingCase(const Denoiser& denoiser, SamplingSpec spec,
               const std::vector<std::int64_t>& sample_shape, const torch::TensorOptions& options,
               std::uint64_t seed);

  double time_run() const;  // wall seconds of one run

  // Captures the run as a CUDA graph (samplers/cuda_graph.h) and keeps its first replay's
  // output; returns why it could not ("" when captured).
  std::string capture_graph();
  double time_graph_run() const;                          // wall seconds of one replay
  const torch::Tensor& graph_x_0() const { return graph_x_0_; }  // on the CPU

  const SamplingSpec& spec() const { return spec_; }
  const SamplerConfig& config() const { return config_; }
  const torch::Tensor& x_T() const { return x_T_; }
  const torch::Tensor& x_0() const { return x_0_; }  // the first run's output, on the CPU
  std::int64_t nfe() const { return nfe_; }          // model evaluations of one run

 private:
  torch::Tensor run(NoiseSource& noise) const;

  const Denoiser& denoiser_;
  SamplingSpec spec_;
  SamplerConfig config_;
  std::uint64_t seed_;
  torch::Tensor x_T_, x_0_, graph_x_0_;
  std::int64_t nfe_ = 0;
  std::unique_ptr<SamplerGraph> graph_;
};

}  // namespace diffuse
