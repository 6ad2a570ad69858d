#include "samplers/cuda_graph.h"

#include "core/base/errors.h"
#include "samplers/registry.h"

#if DIFFUSE_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace diffuse {

std::string graph_capture_obstacle(const SamplerConfig& config, const torch::Tensor& x_T) {
  if (!DIFFUSE_WITH_CUDA) return "this build of diffuse has no CUDA support";
  if (!x_T.is_cuda()) return "CUDA graphs need a CUDA device (--device cuda)";
  const SamplerInfo& row = find_sampler(config.name);
  if (row.stochastic) return "sampler '" + row.name + "' draws fresh noise every step";
  if (row.adaptive) return "sampler '" + row.name + "' chooses its steps on the host";
  if (config.s_churn > 0.0) return "sampler.s_churn > 0 draws fresh noise every step";
  return "";
}

#if DIFFUSE_WITH_CUDA

namespace {

std::string first_line(const std::exception& e) {  // c10 errors carry a backtrace after it
  const std::string text = e.what();
  return text.substr(0, text.find('\n'));
}

}  // namespace

struct SamplerGraph::Captured {
  at::cuda::CUDAGraph graph;
  torch::Tensor input, output;  // the graph's own memory: x_T is copied in, x_0 read out
};

SamplerGraph::SamplerGraph(const SamplerConfig& config, const Denoiser& denoiser,
                           const torch::Tensor& x_T)
    : config_(config), denoiser_(denoiser), obstacle_(graph_capture_obstacle(config, x_T)) {
  if (!obstacle_.empty()) return;
  auto captured = std::make_unique<Captured>();
  captured->input = x_T.clone();
  // Capture needs a stream of its own; it must first see x_T's producers finished.
  c10::cuda::device_synchronize();
  const auto stream = c10::cuda::getStreamFromPool(false, x_T.device().index());
  c10::cuda::CUDAStreamGuard on_stream(stream);
  NoiseSource unused(0, 0);  // a deterministic sampler draws nothing; checked below
  const auto before = denoiser_.evaluations();
  run_sampler(config_, denoiser_, captured->input, unused);
  nfe_ = denoiser_.evaluations() - before;
  if (unused.draws() > 0) {
    obstacle_ = "sampler '" + config_.name + "' drew noise";
    return;
  }
  stream.synchronize();
  try {
    captured->graph.capture_begin();
    try {
      captured->output = run_sampler(config_, denoiser_, captured->input, unused);
    } catch (...) {
      try {
        captured->graph.capture_end();  // leaves capture mode; reports the broken capture
      } catch (...) {
      }
      throw;
    }
    captured->graph.capture_end();
    stream.synchronize();
  } catch (const std::exception& e) {
    // An operation the capture cannot record (a host synchronisation, a copy from pageable
    // memory): the run stays eager.
    obstacle_ = "capture failed: " + first_line(e);
    return;
  }
  captured_ = std::move(captured);
}

torch::Tensor SamplerGraph::replay(const torch::Tensor& x_T) const {
  const auto& input = captured_->input;
  require(x_T.sizes() == input.sizes() && x_T.scalar_type() == input.scalar_type() &&
              x_T.device() == input.device(),
          "SamplerGraph::run: x_T differs in shape, dtype or device from the captured one");
  torch::NoGradGuard no_grad;
  captured_->input.copy_(x_T);
  captured_->graph.replay();
  return captured_->output.clone();  // the next replay overwrites the graph's output
}

#else  // no CUDA: there is never a graph, and every run is eager

struct SamplerGraph::Captured {};

SamplerGraph::SamplerGraph(const SamplerConfig& config, const Denoiser& denoiser,
                           const torch::Tensor& x_T)
    : config_(config), denoiser_(denoiser), obstacle_(graph_capture_obstacle(config, x_T)) {}

torch::Tensor SamplerGraph::replay(const torch::Tensor&) const {
  throw std::logic_error("SamplerGraph::replay without CUDA");
}

#endif

SamplerGraph::~SamplerGraph() = default;

torch::Tensor SamplerGraph::run(const torch::Tensor& x_T, NoiseSource& noise) const {
  if (captured_) return replay(x_T);
  const auto before = denoiser_.evaluations();
  auto x = run_sampler(config_, denoiser_, x_T, noise);
  nfe_ = denoiser_.evaluations() - before;
  return x;
}

}  // namespace diffuse
