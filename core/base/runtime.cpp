#include "core/base/runtime.h"

#include "core/base/compat.h"
#include "core/base/errors.h"

#include <ATen/CPUGeneratorImpl.h>
#if DIFFUSE_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include <fstream>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace diffuse {

torch::Device parse_device(const std::string& name) {
  if (name == "auto") return compat::cuda_available() ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!compat::cuda_available())
      throw InputError("device '" + name + "': " +
                       (DIFFUSE_WITH_CUDA ? "no CUDA device is visible on this machine"
                                          : "this build of diffuse has no CUDA support (LibTorch " +
                                                compat::torch_version() + " without CUDA)") +
                       "; use --device cpu or auto");
    int index = 0;
    if (name.size() > 5) {
      const std::string digits = name.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        throw InputError("device '" + name + "': expected cuda:N with N a device index");
      index = std::stoi(digits);
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError("device '" + name + "': expected auto, cpu, cuda or cuda:N");
}

std::string device_name(const torch::Device& device) { return device.str(); }

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  throw InputError("dtype '" + name + "': expected float32 or float64");
}

std::string dtype_name(torch::Dtype dtype) {
  if (dtype == torch::kFloat32) return "float32";
  if (dtype == torch::kFloat64) return "float64";
  if (dtype == torch::kBFloat16) return "bfloat16";
  return std::string(c10::toString(dtype));
}

at::Generator make_generator(std::uint64_t seed, const torch::Device& device) {
#if DIFFUSE_WITH_CUDA
  if (device.is_cuda()) {
    auto generator = at::cuda::detail::createCUDAGenerator(device.index());
    generator.set_current_seed(seed);
    return generator;
  }
#else
  (void)device;
#endif
  return at::detail::createCPUGenerator(seed);
}

void set_threads(int threads) {
  require(threads >= 1, "threads = " + std::to_string(threads) + ": expected a value >= 1");
  torch::set_num_threads(threads);
}

void retain_freed_memory() {
#ifdef __GLIBC__
  // Blocks up to 32 MiB come from the heap (glibc's own ceiling for its adaptive threshold), and
  // up to 64 MiB of free heap top is kept. Both are needed: a fixed trim threshold alone turns the
  // adaptive mmap threshold off, and every block over 128 KiB would be mapped afresh.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

std::string reference_blas_warning() {
  // Debian's LibTorch calls libblas.so.3; the reference implementation of it lives in .../blas/,
  // OpenBLAS's in .../openblas-*/. /proc/self/maps shows the file actually mapped.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("/blas/libblas.so") != std::string::npos)
      return "warning: LibTorch is using the reference BLAS (" + line.substr(line.find('/')) +
             "), which makes training about 15x slower; install OpenBLAS: "
             "sudo apt-get install libopenblas0-pthread";
  }
  return "";
}

}  // namespace diffuse
