#include "models/mlp.h"

#include "core/base/errors.h"

namespace diffuse {

namespace {

torch::nn::LayerNorm layer_norm_or_none(std::int64_t width, bool enabled) {
  if (!enabled) return torch::nn::LayerNorm(nullptr);
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}));
}

// LayerNorm in its weights' dtype: under bf16 autocast, LibTorch 1.13's CPU kernel refuses a
// bfloat16 input with float32 weights (2.x autocast runs layer_norm in float32 itself).
torch::Tensor normalize(torch::nn::LayerNorm& norm, const torch::Tensor& h) {
  return norm(h.to(norm->weight.scalar_type()));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(std::int64_t width, bool layer_norm) {
  norm_ = layer_norm_or_none(width, layer_norm);
  if (layer_norm) register_module("norm", norm_);
  fc1_ = register_module("fc1", torch::nn::Linear(width, width));
  project_ = register_module("project", torch::nn::Linear(width, width));
  fc2_ = register_module("fc2", torch::nn::Linear(width, width));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& h, const torch::Tensor& embedding) {
  const auto y = norm_.is_empty() ? h : normalize(norm_, h);
  return h + fc2_(torch::silu(fc1_(y) + project_(embedding)));
}

MlpNetImpl::MlpNetImpl(std::int64_t dim, std::int64_t width, std::int64_t depth,
                       const NoiseEmbeddingOptions& embedding, bool layer_norm,
                       std::int64_t num_classes)
    : width_(width), num_classes_(num_classes), embedding_kind_(embedding.kind) {
  input_ = register_module("input", torch::nn::Linear(dim, width));
  embed_ = register_module("embed", NoiseEmbedding(embedding, width));
  if (num_classes_ > 0)
    label_embed_ = register_module("label_embed", torch::nn::Embedding(num_classes_ + 1, width));
  block_list_ = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t k = 0; k < depth; ++k) {
    blocks_.emplace_back(width, layer_norm);
    block_list_->push_back(blocks_.back());
  }
  norm_ = layer_norm_or_none(width, layer_norm);
  if (layer_norm) register_module("norm", norm_);
  output_ = register_module("output", torch::nn::Linear(width, dim));
  skip_gain_ = register_module("skip_gain", torch::nn::Linear(width, 1));
  for (auto* layer : {&output_, &skip_gain_}) {
    torch::nn::init::zeros_((*layer)->weight);
    torch::nn::init::zeros_((*layer)->bias);
  }
}

torch::Tensor MlpNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) {
  if (num_classes_ == 0) return forward_labelled(x_in, c_noise, torch::Tensor());
  return forward_labelled(x_in, c_noise,
                          torch::full({x_in.size(0)}, num_classes_,
                                      torch::TensorOptions(torch::kInt64).device(x_in.device())));
}

torch::Tensor MlpNetImpl::forward_labelled(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                           const torch::Tensor& labels) {
  auto e = embed_(c_noise);
  if (labels.defined()) {
    require(num_classes_ > 0, "labels given to an mlp without model.num_classes");
    e = e + label_embed_(labels.to(torch::kInt64));
  }
  auto h = input_(x_in);
  for (auto& block : blocks_) h = block(h, e);
  if (!norm_.is_empty()) h = normalize(norm_, h);
  return output_(torch::silu(h)) + skip_gain_(e) * x_in;
}

double MlpNetImpl::noise_path_flops() const {
  double flops = linear_layer_flops(*embed_) + linear_layer_flops(*skip_gain_);
  for (const auto& block : blocks_) flops += linear_layer_flops(*block->projection());
  return flops;
}

std::string MlpNetImpl::describe() const {
  std::string text = "width " + std::to_string(width_) + ", depth " +
                     std::to_string(blocks_.size()) + ", " + embedding_kind_ + " embedding";
  if (num_classes_ > 0) text += ", " + std::to_string(num_classes_) + " classes";
  return text;
}

}  // namespace diffuse
