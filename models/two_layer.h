// `two-layer`: one hidden softmax layer, the Gaussian-mixture-latent class of the pretraining
// theory (seed talk, "2-layer NN"; Shah, Chen, Klivans 2023, "Learning mixtures of Gaussians
// using the DDPM objective"). The score of a mixture whose components share a covariance is
//   s(x, t) = sum_m softmax_m(a_m(t) . x + b_m(t)) (W_m(t) x + c_m(t)),
// and this network has exactly that form with learnable a, b, W, c read off a noise-level
// embedding; width = the number of components M. Softmax weights sum to one, so the form
// survives the preconditioning's c_skip x term and every parameterization.
#pragma once

#include "models/network.h"
#include "models/time_embedding.h"

namespace diffuse {

class TwoLayerNetImpl : public RawNetworkImpl {
 public:
  TwoLayerNetImpl(std::int64_t dim, std::int64_t components, std::int64_t hidden,
                  const NoiseEmbeddingOptions& embedding, bool diagonal);
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) override;
  std::string describe() const override;
  // The gates a_m, b_m and the maps W_m(t), c_m(t) depend on the noise level alone.
  bool shares_noise_path() const override { return true; }
  double noise_path_flops() const override { return linear_layer_flops(*this); }

 private:
  std::int64_t dim_, components_;
  bool diagonal_;
  NoiseEmbedding embed_{nullptr};
  torch::nn::Linear a_head_{nullptr}, b_head_{nullptr}, w_head_{nullptr}, c_head_{nullptr};
};
TORCH_MODULE(TwoLayerNet);

}  // namespace diffuse
