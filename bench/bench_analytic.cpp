// Benchmark of the analytic oracle: a factor-covariance mixture with D = 784, k = 10 and
// 8 components, a batch of 4096 in float32 on the CPU; prints milliseconds per call for a shared
// time and for one time per sample. Link against diffuse_models.
//
//   bench_analytic [iterations=10] [batch=4096]
#include "core/mixture.h"
#include "core/process.h"
#include "models/analytic.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <utility>

namespace {

using Clock = std::chrono::steady_clock;

diffuse::GaussianMixture factor_mixture(int64_t dim, int64_t rank, int64_t components) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  std::vector<diffuse::GaussianComponent> parts;
  for (int64_t m = 0; m < components; ++m) {
    const auto mean = torch::randn({dim}, gen, f64) * 0.5;
    const auto factor = torch::randn({dim, rank}, gen, f64) / std::sqrt(static_cast<double>(rank));
    parts.push_back(diffuse::GaussianComponent::low_rank(1.0, mean, factor, 1e-2));
  }
  return diffuse::GaussianMixture(parts);
}

// Wall-clock and process CPU milliseconds per call (CPU time stays meaningful on a busy host).
std::pair<double, double> ms_per_call(diffuse::AnalyticMixtureScore& oracle, const torch::Tensor& x,
                                      const torch::Tensor& t, int iterations) {
  torch::NoGradGuard no_grad;
  oracle.forward(x, t);  // warm-up: caches the float32 copy of the mixture
  const auto start = Clock::now();
  const std::clock_t cpu_start = std::clock();
  double checksum = 0.0;
  for (int i = 0; i < iterations; ++i) checksum += oracle.forward(x, t)[0][0].item<double>();
  const std::chrono::duration<double, std::milli> elapsed = Clock::now() - start;
  const double cpu = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  if (!std::isfinite(checksum)) std::printf("warning: non-finite scores\n");
  return {elapsed.count() / iterations, cpu / iterations};
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 10;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int64_t dim = 784, rank = 10, components = 8;
  diffuse::ProcessConfig config;
  config.kind = "vp-linear";
  diffuse::AnalyticMixtureScore oracle(factor_mixture(dim, rank, components),
                                       diffuse::make_process(config));
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(1);
  const auto x = torch::randn({batch, dim}, gen, torch::kFloat32);
  const auto shared = torch::full({batch}, 0.5, torch::kFloat32);
  const auto per_sample = torch::rand({batch}, gen, torch::kFloat32) * 0.999 + 0.001;
  std::printf(
      "analytic oracle: factor mixture D=%lld k=%lld K=%lld, batch %lld float32 CPU, "
      "%d threads\n",
      static_cast<long long>(dim), static_cast<long long>(rank), static_cast<long long>(components),
      static_cast<long long>(batch), torch::get_num_threads());
  for (const auto& [name, t] :
       {std::pair{"shared t:    ", shared}, {"per-sample t:", per_sample}}) {
    const auto [wall, cpu] = ms_per_call(oracle, x, t, iterations);
    std::printf("  %s %8.2f ms/call wall, %8.2f ms/call CPU\n", name, wall, cpu);
  }
  return 0;
}
