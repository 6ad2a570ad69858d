// What random-draw tests share: float64 tensor options and a CPU generator seeded on the spot,
// so that each test's draws are its own and the same on every run.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>

namespace diffuse::testing {

inline const torch::TensorOptions kF64 = torch::TensorOptions().dtype(torch::kFloat64);

inline at::Generator seeded(std::uint64_t seed) {
  return torch::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace diffuse::testing
