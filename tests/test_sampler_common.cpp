// Shared sampler pieces (samplers/common.h): x0 clipping and dynamic thresholding through a
// Denoiser view, and user-given time grids from a file.
#include "samplers/common.h"

#include "core/base/errors.h"
#include "core/io/npy.h"
#include "samplers/registry.h"
#include "tests/gaussian_flow.h"
#include "tests/sampler_checks.h"
#include "tests/temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace diffuse::testing {
namespace {

TEST(SamplerCommonTest, ClipsAndThresholdsX0) {
  const auto x0 = torch::tensor({{0.5, -3.0, 2.0, 0.1}, {0.2, -0.3, 0.1, 0.0}}, torch::kFloat64);
  SamplerConfig config;
  EXPECT_TRUE(torch::equal(transform_x0(x0, config), x0));
  config.clip_x0 = 1.0;
  EXPECT_TRUE(torch::equal(transform_x0(x0, config), x0.clamp(-1.0, 1.0)));
  // Imagen with p = 0.5: sample 0 has |x0| sorted 0.1, 0.5, 2, 3, median 1.25 > 1, so it is
  // clamped to [-1.25, 1.25] and divided by 1.25; sample 1's median is below 1: unchanged.
  config.dynamic_threshold = 0.5;
  const auto expected =
      torch::tensor({{0.4, -1.0, 1.0, 0.08}, {0.2, -0.3, 0.1, 0.0}}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(transform_x0(x0, config), expected, 1e-12, 1e-12));
  // With clip_x0 = c the floor is c and the result lies in [-c, c].
  config.clip_x0 = 2.0;
  const auto scaled = transform_x0(x0, config);
  EXPECT_TRUE(torch::allclose(scaled[1], x0[1], 1e-12, 1e-12));
  EXPECT_LE(scaled.abs().max().item<double>(), 2.0);
}

TEST(SamplerCommonTest, TransformViewCountsOnTheWrappedDenoiser) {
  const auto p = process_of("vp-linear");
  const auto denoiser = gaussian_denoiser(p, GaussianTarget{});
  SamplerConfig config;
  EXPECT_EQ(&PredictionTransform(denoiser, config).view(), &denoiser);
  config.clip_x0 = 0.3;
  const PredictionTransform transformed(denoiser, config);
  const auto x = torch::randn({16, 2}, torch::kFloat64);
  const double t = 0.4;
  const auto [x0, eps] = transformed.view().predict(x, t);
  EXPECT_EQ(denoiser.evaluations(), 1);
  EXPECT_LE(x0.abs().max().item<double>(), 0.3);
  EXPECT_TRUE(torch::allclose(p->alpha(t) * x0 + p->sigma(t) * eps, x, 1e-10, 1e-10));
  // Through run_sampler: the final denoised x0 is clipped too, and the NFE is unchanged.
  config.name = "ddim";
  config.steps = 5;
  config.final_denoise = true;
  NoiseSource noise(1, 0);
  const auto x_T = noise.next({32, 2}, torch::kFloat64);
  const auto before = denoiser.evaluations();
  const auto out = run_sampler(config, denoiser, x_T, noise);
  EXPECT_EQ(denoiser.evaluations() - before, sampler_nfe(config, *p));
  EXPECT_LE(out.abs().max().item<double>(), 0.3 + 1e-12);
}

TEST(SamplerCommonTest, ReadsTimesFromAFile) {
  const TempDir scratch;
  const auto& dir = scratch.path();
  const auto text = (dir / "times.txt").string();
  std::ofstream(text) << "1.0, 0.5\n0.25 0.001\n";
  EXPECT_EQ(load_times_file(text), (std::vector<double>{1.0, 0.5, 0.25, 0.001}));
  const auto npy = (dir / "times.npy").string();
  save_npy(npy, torch::tensor({0.9, 0.3, 0.01}, torch::kFloat64));
  EXPECT_EQ(load_times_file(npy), (std::vector<double>{0.9, 0.3, 0.01}));

  const auto p = process_of("vp-linear");
  SamplerConfig config;
  config.times_file = text;
  EXPECT_EQ(sampler_grid(config, *p), (std::vector<double>{1.0, 0.5, 0.25, 0.001}));
  config.times = {1.0, 0.1};
  EXPECT_THROW(sampler_grid(config, *p), InputError);  // both given
  const auto bad = (dir / "bad.txt").string();
  std::ofstream(bad) << "1.0 half 0.1\n";
  EXPECT_THROW(load_times_file(bad), InputError);
  EXPECT_THROW(load_times_file((dir / "missing.txt").string()), InputError);
}

}  // namespace
}  // namespace diffuse::testing
