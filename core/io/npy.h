// NumPy .npy files: the on-disk format for samples and noise ([n, dims...], C order).
//
// Usage:
//   diffuse::save_npy("samples.npy", x);  // float32/float64 (int64: labels), any device, atomic
//   torch::Tensor x = diffuse::load_npy("samples.npy");  // CPU tensor
//   torch::Tensor p = diffuse::load_npy("points.npy", /*expected_rank=*/2);
//   diffuse::require_shape(p, {diffuse::kAnyDim, 2}, "points.npy");
//       // -> InputError "points.npy: expected shape [*, 2], got [10, 3]"
//
// Written: format version 1.0 (2.0 only if the header would not fit), little-endian '<f4', '<f8' or
// '<i8', header padded so the data starts at a multiple of 64 bytes, as numpy does.
// Read: versions 1.0, 2.0 and 3.0; dtypes '<f4' (float32), '<f8' (float64), '|u1' (uint8),
// '<i4' (int32), '<i8' (int64); C order only. Every problem with a file (missing, not .npy,
// malformed header, unsupported dtype, big-endian, Fortran order, truncated or trailing data) is an
// InputError that names the file and says what is wrong.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace diffuse {

// Writes `tensor` (float32, float64 or int64 (labels), otherwise InputError) to `path` as .npy,
// atomically.
void save_npy(const std::string& path, const torch::Tensor& tensor);

// Reads a .npy file into a contiguous CPU tensor of the matching dtype.
torch::Tensor load_npy(const std::string& path);

// As load_npy, and requires the array to have `expected_rank` dimensions.
torch::Tensor load_npy(const std::string& path, int64_t expected_rank);

// A dimension of require_shape's `expected` that matches any size.
constexpr int64_t kAnyDim = -1;

// InputError "<what>: expected shape [*, 2], got [10, 3]" unless `tensor` has exactly the
// expected dimensions; a kAnyDim entry matches any size.
void require_shape(const torch::Tensor& tensor, const std::vector<int64_t>& expected,
                   const std::string& what);

// "[10, 3]"; "[]" for a scalar. kAnyDim entries print as "*".
std::string shape_string(const std::vector<int64_t>& shape);
inline std::string shape_string(const torch::Tensor& t) { return shape_string(t.sizes().vec()); }

}  // namespace diffuse
