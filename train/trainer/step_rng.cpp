#include "train/trainer/step_rng.h"

#include "core/base/runtime.h"
#include "core/math/numerics.h"

namespace diffuse {

std::uint64_t step_seed(std::uint64_t seed, std::int64_t step, RngStream stream) {
  const auto s = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(stream)));
  return splitmix64(s ^ static_cast<std::uint64_t>(step));
}

at::Generator step_generator(std::uint64_t seed, std::int64_t step, RngStream stream,
                             const torch::Device& device) {
  return make_generator(step_seed(seed, step, stream), device);
}

}  // namespace diffuse
