// LibTorch 1.13 (Debian, CPU) and 2.x (CUDA machines) differ in a few places; they all live here.
#pragma once

#include <torch/torch.h>

#include <optional>

namespace diffuse::compat {

// c10::optional is its own type in 1.13 and an alias of std::optional in 2.x.
template <class T>
std::optional<T> to_std(const c10::optional<T>& value) {
  if (value.has_value()) return *value;
  return std::nullopt;
}

inline bool cuda_available() {
#if DIFFUSE_WITH_CUDA
  return torch::cuda::is_available();
#else
  return false;
#endif
}

// Waits for the device's queued kernels (host timers around CUDA work need it); nothing on CPU.
inline void synchronize(const torch::Device& device) {
#if DIFFUSE_WITH_CUDA
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
#else
  (void)device;
#endif
}

inline std::string torch_version() {
#ifdef TORCH_VERSION
  return TORCH_VERSION;
#else
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
#endif
}

}  // namespace diffuse::compat
