#include "samplers/noise.h"

#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "core/math/numerics.h"

namespace diffuse {

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t substream) {
  return splitmix64(seed ^ splitmix64(stream ^ splitmix64(substream)));
}

NoiseSource::NoiseSource(std::uint64_t seed, std::int64_t first_index)
    : seed_(seed), first_index_(first_index) {
  require(first_index >= 0, "NoiseSource: first_index must be >= 0");
}

torch::Tensor NoiseSource::like(const torch::Tensor& x) { return next(x.sizes(), x.options()); }

torch::Tensor NoiseSource::next(at::IntArrayRef shape, const torch::TensorOptions& options) {
  require(!shape.empty(), "NoiseSource: expected a shape [n, ...]");
  const std::int64_t n = shape[0];
  std::vector<std::int64_t> block_shape(shape.begin(), shape.end());
  block_shape[0] = kBlockRows;
  const std::int64_t first_block = first_index_ / kBlockRows;
  const std::int64_t last_block = (first_index_ + n - 1) / kBlockRows;
  std::vector<torch::Tensor> blocks;
  for (std::int64_t b = first_block; n > 0 && b <= last_block; ++b) {
    auto generator = make_generator(mix_seed(seed_, static_cast<std::uint64_t>(b),
                                             static_cast<std::uint64_t>(draw_)),
                                    options.device());
    blocks.push_back(torch::randn(block_shape, generator, options));
  }
  ++draw_;
  if (n == 0) return torch::empty(shape, options);
  const auto all = blocks.size() == 1 ? blocks[0] : torch::cat(blocks);
  return all.narrow(0, first_index_ - first_block * kBlockRows, n);
}

}  // namespace diffuse
