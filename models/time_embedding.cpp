#include "models/time_embedding.h"

#include "core/base/errors.h"

namespace diffuse {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

NoiseEmbeddingImpl::NoiseEmbeddingImpl(const NoiseEmbeddingOptions& options, std::int64_t out) {
  require(options.dim >= 2 && options.dim % 2 == 0,
          "model.embedding_dim must be even and >= 2, got " + std::to_string(options.dim));
  const std::int64_t half = options.dim / 2;
  torch::Tensor w;
  if (options.kind == "sinusoidal") {
    // Geometric from 1/4 to 64 radians per unit of c_noise: c_noise spans about [-2, 2].
    w = 0.25 * torch::pow(256.0, torch::linspace(0.0, 1.0, half, torch::kFloat64));
  } else if (options.kind == "fourier") {
    w = torch::randn({half}, torch::kFloat64) * (2.0 * kPi * options.fourier_scale);
  } else {
    throw InputError("model.time_embedding = '" + options.kind +
                     "': expected sinusoidal or fourier");
  }
  frequencies_ = register_buffer("frequencies", w.to(torch::kFloat32));
  fc1_ = register_module("fc1", torch::nn::Linear(options.dim, out));
  fc2_ = register_module("fc2", torch::nn::Linear(out, out));
}

torch::Tensor NoiseEmbeddingImpl::forward(const torch::Tensor& c_noise) {
  const auto phase = c_noise.reshape({-1, 1}).to(frequencies_.dtype()) * frequencies_;
  const auto features = torch::cat({phase.cos(), phase.sin()}, 1);
  return torch::silu(fc2_(torch::silu(fc1_(features))));
}

}  // namespace diffuse
