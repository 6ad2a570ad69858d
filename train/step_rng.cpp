#include "train/step_rng.h"

#include "core/runtime.h"

namespace diffuse {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t step_seed(std::uint64_t seed, std::int64_t step, RngStream stream) {
  const auto s = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(stream)));
  return splitmix64(s ^ static_cast<std::uint64_t>(step));
}

at::Generator step_generator(std::uint64_t seed, std::int64_t step, RngStream stream,
                             const torch::Device& device) {
  return make_generator(step_seed(seed, step, stream), device);
}

}  // namespace diffuse
