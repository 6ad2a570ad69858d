// A TorchScript score model on CUDA (in diffuse_gpu_tests, which scripts/gpu_check.sh runs on a
// lent GPU machine): the module follows the run's device, and DDIM and DPM-Solver++(2M) there
// give the CPU's samples from the same noise (float64 to 1e-10, float32 to 1e-4). Skips without
// CUDA.
#include "core/process/process.h"
#include "models/denoiser.h"
#include "models/model_factory.h"
#include "samplers/noise.h"
#include "samplers/registry.h"
#include "tests/temp_dir.h"
#include "tests/torchscript_fixture.h"

#include <gtest/gtest.h>

namespace diffuse {
namespace {

TEST(TorchScriptCuda, RunsOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  testing::TempDir dir;
  const std::string path = dir.file("gaussian.pt");
  testing::scripted_module(testing::gaussian_vp_source("eps")).save(path);
  ModelConfig module;  // the exact eps of Gaussian data under vp-linear, in 3 dimensions
  module.kind = "torchscript";
  module.path = path;
  module.prediction = "eps";
  module.dim = 3;
  const auto process = make_process(ProcessConfig{});
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    for (const std::string name : {"ddim", "dpm-solver++2m"}) {
      SamplerConfig sampler;
      sampler.name = name;
      sampler.steps = 10;
      torch::Tensor out[2];
      for (int k = 0; k < 2; ++k) {
        const auto options = torch::dtype(dtype).device(k == 0 ? torch::kCPU : torch::kCUDA);
        const auto model = make_model(module, process, DataConfig{}, options);
        NoiseSource noise(5, 0);
        const auto x_T = noise.next({64, 3}, options) * process->prior_std();
        out[k] = run_sampler(sampler, Denoiser(model, process), x_T, noise);
      }
      EXPECT_TRUE(out[1].is_cuda());
      const double tol = dtype == torch::kFloat64 ? 1e-10 : 1e-4;
      EXPECT_LT((out[1].cpu() - out[0]).abs().max().item<double>(), tol)
          << name << " " << c10::toString(dtype);
    }
  }
}

}  // namespace
}  // namespace diffuse
