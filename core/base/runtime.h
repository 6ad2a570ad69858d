// Run plumbing shared by every command: device and dtype from their names, seeded generators,
// the thread count, and a check that LibTorch is not running on the slow reference BLAS.
//
//   torch::Device device = parse_device("auto");          // cuda when there is one, else cpu
//   torch::Dtype dtype = parse_dtype("float64");
//   at::Generator gen = make_generator(seed, device);
//   set_threads(1);
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace diffuse {

// "auto" | "cpu" | "cuda" | "cuda:N". InputError when CUDA is asked for but not available.
torch::Device parse_device(const std::string& name);
std::string device_name(const torch::Device& device);

// "float32" | "float64".
torch::Dtype parse_dtype(const std::string& name);
std::string dtype_name(torch::Dtype dtype);

// A generator on the device's kind, seeded: the same seed gives the same stream.
at::Generator make_generator(std::uint64_t seed, const torch::Device& device = torch::kCPU);

// Intra-op threads of LibTorch (OpenMP); threads >= 1.
void set_threads(int threads);

// Keeps freed tensor memory in the process instead of handing it back to the OS at once. LibTorch's
// CPU allocator is plain malloc; glibc returns a freed block over 128 KiB (a [1024, 128] float32
// activation is 512 KiB) to the OS and faults fresh pages in for the next one, which made an mlp
// evaluation on a batch of 1024 five times slower. Called once by the `diffuse` command;
// a no-op without glibc.
void retain_freed_memory();

// Non-empty when the process has mapped the reference BLAS (Debian's libblas.so.3 without
// OpenBLAS): a one-line warning saying how to fix it.
std::string reference_blas_warning();

}  // namespace diffuse
