// `mlp`: a deep residual MLP for general data (the "Deep NN" row of the seed talk's table).
// x_in -> Linear(D, width) -> depth x [h + Linear(SiLU(Linear(LayerNorm(h)) + P_k e))]
//      -> LayerNorm -> SiLU -> Linear(width, D), zero-initialised (EDM's init_zero output),
// where e is the noise-level embedding (models/time_embedding.h) and P_k a per-block projection,
// plus g(e) x_in, a skip with a learned noise-dependent gain g (zero at start). Without it a
// width below D caps the rank of the map: eps-prediction at high noise needs eps ~ x_in, and on
// Fashion-MNIST (D = 784, width 512) the eps loss stalled at 1 - 512/784 = 0.35 there.
// With num_classes > 0 a label embedding (num_classes + 1 rows, the last the null label) is added
// to e, the usual class conditioning of diffusion networks; forward() uses the null label.
#pragma once

#include "models/network.h"
#include "models/time_embedding.h"

#include <vector>

namespace diffuse {

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(std::int64_t width, bool layer_norm);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& embedding);
  const torch::nn::Linear& projection() const { return project_; }

 private:
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear fc1_{nullptr}, project_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(ResidualBlock);

class MlpNetImpl : public RawNetworkImpl {
 public:
  MlpNetImpl(std::int64_t dim, std::int64_t width, std::int64_t depth,
             const NoiseEmbeddingOptions& embedding, bool layer_norm,
             std::int64_t num_classes = 0);
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) override;
  torch::Tensor forward_labelled(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                 const torch::Tensor& labels) override;
  std::int64_t num_classes() const override { return num_classes_; }
  std::string describe() const override;
  // The embedding, the blocks' projections P_k e and the skip gain g(e) broadcast over rows.
  bool shares_noise_path() const override { return true; }
  double noise_path_flops() const override;

 private:
  std::int64_t width_, num_classes_;
  std::string embedding_kind_;
  torch::nn::Linear input_{nullptr}, output_{nullptr}, skip_gain_{nullptr};
  NoiseEmbedding embed_{nullptr};
  torch::nn::Embedding label_embed_{nullptr};  // only with num_classes > 0
  torch::nn::ModuleList block_list_{nullptr};  // names the blocks blocks.0, blocks.1, ...
  std::vector<ResidualBlock> blocks_;
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(MlpNet);

}  // namespace diffuse
