// `linear`: a score affine in x for each t, the Gaussian-latent class of the pretraining theory
// (seed talk "Learning Process & Sampling Complexity", table of data structures):
//   F(x_in, t) = W(t) x_in + b(t),
// with W(t) (full D x D, or diagonal) and b(t) read off a noise-level embedding. Affine maps stay
// affine under the preconditioning and every parameterization, so the class is the same whatever
// the model predicts. The low-rank form W = A C(t) A^T - (I - A A^T) / sigma_t^2 is this network
// in d dimensions inside a SubspaceModel (models/subspace.h; model.rank).
#pragma once

#include "models/network.h"
#include "models/time_embedding.h"

namespace diffuse {

class LinearNetImpl : public RawNetworkImpl {
 public:
  LinearNetImpl(std::int64_t dim, std::int64_t hidden, const NoiseEmbeddingOptions& embedding,
                bool diagonal);
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) override;
  std::string describe() const override;
  // W(t) and b(t) depend on the noise level alone.
  bool shares_noise_path() const override { return true; }
  double noise_path_flops() const override { return linear_layer_flops(*this); }

 private:
  std::int64_t dim_;
  bool diagonal_;
  NoiseEmbedding embed_{nullptr};
  torch::nn::Linear w_head_{nullptr}, b_head_{nullptr};
};
TORCH_MODULE(LinearNet);

}  // namespace diffuse
