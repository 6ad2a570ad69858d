#include "samplers/generate.h"

#include "core/base/errors.h"
#include "models/guidance.h"
#include "samplers/cuda_graph.h"
#include "samplers/registry.h"

#include <map>
#include <memory>

#include <chrono>

namespace diffuse {

namespace {
// Why generate() runs eagerly on CUDA ("" when it may capture), before any sampler-level reason.
std::string graph_setting_obstacle(const SamplerConfig& config, const GenerateRequest& request) {
  if (!config.cuda_graph) return "off (sampler.cuda_graph: false)";
  if (request.labels.defined()) return "class labels change from batch to batch";
  return "";
}

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}
}  // namespace

GenerateResult generate(const SamplerConfig& config, const Denoiser& denoiser,
                        const std::vector<std::int64_t>& sample_shape,
                        const torch::TensorOptions& options, const GenerateRequest& request) {
  require(request.num_samples >= 1 && request.batch_size >= 1,
          "generate: num_samples and batch_size must be >= 1");
  std::vector<std::int64_t> full_shape = {request.num_samples};
  full_shape.insert(full_shape.end(), sample_shape.begin(), sample_shape.end());
  if (request.initial_noise.defined()) {
    require(request.initial_noise.sizes().vec() == full_shape,
            "initial noise has shape " + shape_text(request.initial_noise.sizes()) +
                "; expected " + shape_text(full_shape) + " (num_samples x sample shape)");
    const auto finite = torch::isfinite(request.initial_noise);
    require(finite.all().item<bool>(),
            "initial noise has " + std::to_string((~finite).sum().item<std::int64_t>()) +
                " NaN or infinite values; expected finite numbers (a Gaussian draw x_T)");
  }

  if (request.labels.defined())
    require(request.labels.dim() == 1 && request.labels.size(0) == request.num_samples,
            "labels: expected one per sample [" + std::to_string(request.num_samples) + "]");
  GenerateResult result;
  const bool on_cuda = options.device().is_cuda();
  if (on_cuda) result.cuda_graph = graph_setting_obstacle(config, request);
  const bool use_graphs = on_cuda && result.cuda_graph.empty();
  std::map<std::int64_t, std::unique_ptr<SamplerGraph>> graph_for_rows;  // full and last batch

  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> batches;
  std::int64_t nfe = 0;
  for (std::int64_t first = 0; first < request.num_samples; first += request.batch_size) {
    const std::int64_t n = std::min(request.batch_size, request.num_samples - first);
    std::vector<std::int64_t> shape = full_shape;
    shape[0] = n;
    NoiseSource noise(request.seed, first);
    // Draw 0 of the noise source is x_T, so stochastic samplers' draws stay aligned either way.
    torch::Tensor x_T = noise.next(shape, options) * denoiser.process().prior_std();
    if (request.initial_noise.defined())
      x_T = request.initial_noise.narrow(0, first, n).to(options);
    if (request.labels.defined()) {
      // This batch's labels ride in the model, so the sampler sees an ordinary denoiser.
      const Denoiser guided(std::make_shared<GuidedModel>(
                                denoiser.model(), request.labels.narrow(0, first, n),
                                request.guidance),
                            denoiser.process_ptr());
      batches.push_back(run_sampler(config, guided, x_T, noise).to(torch::kCPU));
      nfe = guided.evaluations();
    } else if (use_graphs) {
      auto& graph = graph_for_rows[n];
      if (!graph) graph = std::make_unique<SamplerGraph>(config, denoiser, x_T);
      batches.push_back(graph->run(x_T, noise).to(torch::kCPU));
      nfe = graph->nfe();
      result.cuda_graph = graph->captured() ? "replayed" : graph->obstacle();
    } else {
      const auto before = denoiser.evaluations();
      batches.push_back(run_sampler(config, denoiser, x_T, noise).to(torch::kCPU));
      nfe = denoiser.evaluations() - before;
    }
    if (request.on_batch) request.on_batch(first + n);
  }
  result.samples = batches.size() == 1 ? batches[0] : torch::cat(batches);
  result.nfe = nfe;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace diffuse
