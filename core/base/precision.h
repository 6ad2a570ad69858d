// Reduced-precision arithmetic for a run, the run config's `precision:` key:
//   fp32   (default) the dtype's own arithmetic: float32, or float64 with --dtype float64 for
//          exactness studies
//   tf32   CUDA matmuls and convolutions in TensorFloat-32 (Ampere and later); CPU runs are
//          unchanged
//   bf16   the score networks' forward passes (and so their backward) under autocast to
//          bfloat16, on CPU or CUDA; preconditioning, losses, samplers, the optimiser and the
//          weights stay float32
// The setting is process-wide, like the thread count: set_up_run applies it once.
//
//   set_precision(parse_precision("bf16"), torch::kFloat32);
//   { AutocastScope autocast(x.device()); y = network(x); }   // bf16 inside, if asked for
#pragma once

#include <torch/torch.h>

#include <string>

namespace diffuse {

enum class Precision { fp32, tf32, bf16 };

// InputError naming the value and the choices.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision precision);

// InputError for a reduced precision with float64 (which is for exactness).
void set_precision(Precision precision, torch::Dtype dtype);
Precision current_precision();

// Autocast to bfloat16 on `device`'s type for the scope when the precision is bf16; nothing
// otherwise. Nested scopes are fine; the outermost clears autocast's cast cache on exit.
class AutocastScope {
 public:
  explicit AutocastScope(const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  torch::DeviceType device_type_ = torch::kCPU;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace diffuse
