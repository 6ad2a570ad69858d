#include "core/base/precision.h"

#include "core/base/errors.h"

#include <ATen/autocast_mode.h>

#include <atomic>

namespace diffuse {

namespace {

std::atomic<Precision> run_precision{Precision::fp32};

// Autocast's switches per device type: one call each since LibTorch 2.4, a CPU and a CUDA
// flavour of each before.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(torch::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void enable_autocast(torch::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
at::ScalarType autocast_dtype(torch::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void set_autocast_dtype(torch::DeviceType t, at::ScalarType d) {
  at::autocast::set_autocast_dtype(t, d);
}
#else
bool autocast_enabled(torch::DeviceType t) {
  return t == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void enable_autocast(torch::DeviceType t, bool on) {
  if (t == torch::kCUDA)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
}
at::ScalarType autocast_dtype(torch::DeviceType t) {
  return t == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                           : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(torch::DeviceType t, at::ScalarType d) {
  if (t == torch::kCUDA)
    at::autocast::set_autocast_gpu_dtype(d);
  else
    at::autocast::set_autocast_cpu_dtype(d);
}
#endif

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "tf32") return Precision::tf32;
  if (name == "bf16") return Precision::bf16;
  throw InputError("precision '" + name + "': expected fp32, tf32 or bf16");
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::tf32: return "tf32";
    case Precision::bf16: return "bf16";
    default: return "fp32";
  }
}

void set_precision(Precision precision, torch::Dtype dtype) {
  require(precision == Precision::fp32 || dtype == torch::kFloat32,
          "precision " + precision_name(precision) +
              " needs dtype float32 (float64 is for exactness studies; use precision fp32)");
  // TF32 only changes CUDA kernels; the flags are harmless without a GPU.
  at::globalContext().setAllowTF32CuBLAS(precision == Precision::tf32);
  at::globalContext().setAllowTF32CuDNN(precision == Precision::tf32);
  run_precision = precision;
}

Precision current_precision() { return run_precision; }

AutocastScope::AutocastScope(const torch::Device& device) : device_type_(device.type()) {
  if (run_precision != Precision::bf16) return;
  active_ = true;
  was_enabled_ = autocast_enabled(device_type_);
  previous_dtype_ = autocast_dtype(device_type_);
  enable_autocast(device_type_, true);
  set_autocast_dtype(device_type_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_dtype(device_type_, previous_dtype_);
  enable_autocast(device_type_, was_enabled_);
}

}  // namespace diffuse
