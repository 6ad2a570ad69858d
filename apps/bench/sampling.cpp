#include "apps/bench/sampling.h"

#include "samplers/registry.h"

#include <chrono>

namespace diffuse {

SamplingCase::SamplingCase(const Denoiser& denoiser, SamplingSpec spec,
                           const std::vector<std::int64_t>& sample_shape,
                           const torch::TensorOptions& options, std::uint64_t seed)
    : denoiser_(denoiser), spec_(std::move(spec)), seed_(seed) {
  config_.name = spec_.sampler;  // every other setting at its default: the logsnr grid
  config_.steps = spec_.steps;
  std::vector<std::int64_t> shape = {spec_.batch};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  NoiseSource noise(seed_, 0);  // draw 0 is x_T, as in generate()
  x_T_ = noise.next(shape, options) * denoiser_.process().prior_std();
  const auto before = denoiser_.evaluations();
  x_0_ = run(noise);
  nfe_ = denoiser_.evaluations() - before;
}

torch::Tensor SamplingCase::run(NoiseSource& noise) const {
  return run_sampler(config_, denoiser_, x_T_, noise).to(torch::kCPU);
}

std::string SamplingCase::capture_graph() {
  graph_ = std::make_unique<SamplerGraph>(config_, denoiser_, x_T_);
  if (!graph_->captured()) return graph_->obstacle();
  NoiseSource unused(seed_, 0);
  graph_x_0_ = graph_->run(x_T_, unused).to(torch::kCPU);
  return "";
}

double SamplingCase::time_graph_run() const {
  NoiseSource unused(seed_, 0);
  const auto start = std::chrono::steady_clock::now();
  graph_->run(x_T_, unused).to(torch::kCPU);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double SamplingCase::time_run() const {
  NoiseSource noise(seed_, 0);
  noise.next(x_T_.sizes(), x_T_.options());  // draw 0 was x_T (as in generate()); untimed
  const auto start = std::chrono::steady_clock::now();
  run(noise);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace diffuse
