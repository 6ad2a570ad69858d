#include "apps/bench/flops.h"

#include "core/base/compat.h"
#include "core/base/precision.h"
#include "core/base/runtime.h"
#include "models/network.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace diffuse {

double forward_flops_per_sample(const torch::nn::Module& network) {
  return linear_layer_flops(network);
}

PeakRate measure_matmul_peak(const torch::TensorOptions& options) {
  PeakRate peak;
  peak.n = options.device().is_cuda() ? 8192 : 1024;
  const auto dtype =
      current_precision() == Precision::bf16 ? torch::kBFloat16 : options.dtype().toScalarType();
  peak.dtype = dtype_name(dtype);
  torch::NoGradGuard no_grad;
  // Random values (zeros would flatter the product) from a generator of its own, so the run's
  // seeded global generator is left as it was.
  auto generator = make_generator(0, options.device());
  const auto operand = [&] {
    return torch::randn({peak.n, peak.n}, generator, options.dtype(torch::kFloat32)).to(dtype);
  };
  const auto a = operand(), b = operand();
  auto c = torch::mm(a, b);  // warm-up: the library's kernel choice, the clocks
  compat::synchronize(options.device());
  double best = 0.0;
  for (int i = 0; i < 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    compat::synchronize(options.device());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * std::pow(static_cast<double>(peak.n), 3) / seconds);
  }
  peak.flop_per_s = best;
  return peak;
}

nlohmann::json to_json(const PeakRate& peak) {
  return {{"tflop_per_s", peak.flop_per_s / 1e12},
          {"matmul", std::to_string(peak.n) + "^3 " + peak.dtype}};
}

nlohmann::json achieved_rate(double flops, double seconds, const PeakRate& peak) {
  const double rate = flops / seconds;
  return {{"tflop_per_s", rate / 1e12}, {"of_peak", rate / peak.flop_per_s}};
}

}  // namespace diffuse
