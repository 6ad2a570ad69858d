#include "models/two_layer.h"

namespace diffuse {

TwoLayerNetImpl::TwoLayerNetImpl(std::int64_t dim, std::int64_t components, std::int64_t hidden,
                                 const NoiseEmbeddingOptions& embedding, bool diagonal)
    : dim_(dim), components_(components), diagonal_(diagonal) {
  const std::int64_t m = components, d = dim;
  embed_ = register_module("embed", NoiseEmbedding(embedding, hidden));
  a_head_ = register_module("a_head", torch::nn::Linear(hidden, m * d));
  b_head_ = register_module("b_head", torch::nn::Linear(hidden, m));
  w_head_ = register_module("w_head", torch::nn::Linear(hidden, diagonal ? m * d : m * d * d));
  c_head_ = register_module("c_head", torch::nn::Linear(hidden, m * d));
  // a and c keep LibTorch's random initialisation: it breaks the symmetry between components
  // (identical components would receive identical gradients forever). b and W start at zero.
  for (auto* head : {&b_head_, &w_head_}) {
    torch::nn::init::zeros_((*head)->weight);
    torch::nn::init::zeros_((*head)->bias);
  }
}

torch::Tensor TwoLayerNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) {
  const std::int64_t m = components_, d = dim_;
  const auto h = embed_(c_noise);
  // One noise level for the batch (h [1, hidden]): the heads' a_m and W_m are shared, and the
  // per-row products become matrix products instead of broadcasting them to every row.
  const bool shared = h.size(0) == 1;
  const auto x = x_in.unsqueeze(1);  // [B, 1, D]
  const auto a = a_head_(h).view({-1, m, d});
  const auto ax = shared ? x_in.matmul(a[0].t()) : (a * x).sum(-1);  // [B, M]: a_m . x
  const auto r = torch::softmax(ax + b_head_(h), 1).unsqueeze(-1);   // [B, M, 1]
  const auto w = w_head_(h);
  torch::Tensor wx;  // [B, M, D]: W_m x
  if (diagonal_)
    wx = w.view({-1, m, d}) * x;
  else if (shared)
    wx = x_in.matmul(w.view({m * d, d}).t()).view({-1, m, d});
  else
    wx = w.view({-1, m, d, d}).matmul(x.unsqueeze(-1)).squeeze(-1);
  return (r * (wx + c_head_(h).view({-1, m, d}))).sum(1);
}

std::string TwoLayerNetImpl::describe() const {
  return std::to_string(components_) + " components, " + (diagonal_ ? "diagonal" : "full") +
         " W_m(t) in " + std::to_string(dim_) + " dimensions";
}

}  // namespace diffuse
