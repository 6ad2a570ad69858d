// Randomness of a training step (passed in, never global). Every step draws from
// generators keyed by (seed, step, stream), so step k's data, times and noise depend only on the
// seed and k: a run resumed at step k replays exactly the draws of an uninterrupted run, and the
// checkpoint's RNG state is the pair (seed, step).
//
//   at::Generator noise = step_generator(seed, step, RngStream::noise, device);
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace diffuse {

enum class RngStream : std::uint64_t { data = 1, noise = 2, eval = 3, init = 4 };

// splitmix64 (Steele, Lea, Flood 2014) of the three keys: well-mixed seeds for nearby steps.
std::uint64_t step_seed(std::uint64_t seed, std::int64_t step, RngStream stream);

at::Generator step_generator(std::uint64_t seed, std::int64_t step, RngStream stream,
                             const torch::Device& device);

}  // namespace diffuse
