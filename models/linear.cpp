#include "models/linear.h"

namespace diffuse {

LinearNetImpl::LinearNetImpl(std::int64_t dim, std::int64_t hidden,
                             const NoiseEmbeddingOptions& embedding, bool diagonal)
    : dim_(dim), diagonal_(diagonal) {
  embed_ = register_module("embed", NoiseEmbedding(embedding, hidden));
  w_head_ = register_module("w_head", torch::nn::Linear(hidden, diagonal ? dim : dim * dim));
  b_head_ = register_module("b_head", torch::nn::Linear(hidden, dim));
  // Start from F = 0 (as EDM's zero-initialised output layers): a prediction of size zero.
  for (auto* head : {&w_head_, &b_head_}) {
    torch::nn::init::zeros_((*head)->weight);
    torch::nn::init::zeros_((*head)->bias);
  }
}

torch::Tensor LinearNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) {
  const auto h = embed_(c_noise);
  const auto b = b_head_(h);
  if (diagonal_) return w_head_(h) * x_in + b;
  const auto w = w_head_(h).view({-1, dim_, dim_});
  // One W for a batch at one noise level: the product x W^T, not W broadcast to every row.
  if (w.size(0) == 1) return x_in.matmul(w[0].t()) + b;
  return w.matmul(x_in.unsqueeze(-1)).squeeze(-1) + b;
}

std::string LinearNetImpl::describe() const {
  return std::string(diagonal_ ? "diagonal" : "full") + " W(t) in " + std::to_string(dim_) +
         " dimensions";
}

}  // namespace diffuse
