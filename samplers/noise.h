// Batch-invariant randomness for samplers (passed in, never global). Row i of every draw depends
// only on (seed, first_index + i, draw number), never on the batch size or on which batch the
// sample falls in: sample 7 of a run is the same whether it was drawn in a batch of 10 or of 100.
//
//   NoiseSource noise(seed, /*first_index=*/batch_start);
//   torch::Tensor x_T = noise.like(shape_tensor) * prior_std;   // draw 0
//   torch::Tensor z = noise.like(x);                             // draw 1, 2, ...
//
// Rows are drawn in aligned blocks of kBlockRows with one generator per (block, draw), so the cost
// is one randn call per block, not per sample.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace diffuse {

class NoiseSource {
 public:
  static constexpr std::int64_t kBlockRows = 64;

  NoiseSource(std::uint64_t seed, std::int64_t first_index);

  // Standard normal noise shaped, typed and placed like x (x.size(0) = number of samples).
  torch::Tensor like(const torch::Tensor& x);
  torch::Tensor next(at::IntArrayRef shape, const torch::TensorOptions& options);

  std::int64_t draws() const { return draw_; }

 private:
  std::uint64_t seed_;
  std::int64_t first_index_;
  std::int64_t draw_ = 0;
};

// A well-mixed 64-bit seed for a (seed, stream, substream) triple (SplitMix64 finaliser).
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t substream);

}  // namespace diffuse
