// The noise-level embedding every trained network shares: the scalar c_noise (log(sigma / alpha)
// / 4, models/preconditioning.h) mapped to features, then through a two-layer SiLU MLP.
//   sinusoidal: [cos(w_k c), sin(w_k c)] with w_k geometric in [1/4, 64] (Vaswani et al. 2017's
//               positional encoding, on a continuous noise level as in EDM's networks);
//   fourier:    the same with fixed random w_k ~ N(0, (2 pi scale)^2) (Tancik et al. 2020;
//               Song et al. 2021's GaussianFourierProjection), kept in a buffer.
//
//   NoiseEmbedding embed(NoiseEmbeddingOptions{"sinusoidal", 64, 4.0}, /*out=*/256);
//   torch::Tensor e = embed(c_noise);   // [B] -> [B, 256], after a final SiLU
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace diffuse {

struct NoiseEmbeddingOptions {
  std::string kind = "sinusoidal";  // sinusoidal | fourier
  std::int64_t dim = 64;            // features (even): dim / 2 frequencies
  double fourier_scale = 4.0;       // standard deviation of the fourier frequencies / (2 pi)
};

class NoiseEmbeddingImpl : public torch::nn::Module {
 public:
  NoiseEmbeddingImpl(const NoiseEmbeddingOptions& options, std::int64_t out);
  torch::Tensor forward(const torch::Tensor& c_noise);

 private:
  torch::Tensor frequencies_;  // [dim / 2] buffer
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(NoiseEmbedding);

}  // namespace diffuse
