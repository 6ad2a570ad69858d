// The `diffuse` command on a GPU, skipped without one: training on --device cuda
// lowers the loss and its checkpoint samples on the CPU; `sample` replays CUDA graphs and its
// samples equal the eager ones; bf16 autocast trains and samples on the GPU; `bench` times each
// configuration with and without a graph and the two outputs agree.
#include "core/base/compat.h"
#include "core/io/npy.h"
#include "tests/cli_runner.h"
#include "tests/train_fixture.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuse::testing {
namespace {

#define SKIP_WITHOUT_CUDA() \
  if (!compat::cuda_available()) GTEST_SKIP() << "no CUDA device"

double largest_difference(const std::string& a, const std::string& b) {
  return (load_npy(a) - load_npy(b)).abs().max().item<double>();
}

TEST(CudaCliTest, TrainsOnTheGpuAndItsCheckpointSamplesOnTheCpu) {
  SKIP_WITHOUT_CUDA();
  TempDir dir;
  const std::string out = dir.file("run");
  const auto config = dir.write("run.yaml", tiny_ring_yaml(out));
  const auto r = run_diffuse("train --config " + config + " --steps 300 --device cuda");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto first = run_diffuse("train --config " + config + " --steps 1 --device cuda --set " +
                                 "train.out=" + dir.file("first"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_LT(last_json(r.output).at("eval_loss").get<double>(),
            0.8 * last_json(first.output).at("eval_loss").get<double>())
      << "300 steps on the GPU did not lower the loss";
  const auto s = run_diffuse("sample --model " + out + "/checkpoint.pt --device cpu -n 16 --out " +
                             dir.file("cpu.npy"));
  EXPECT_EQ(s.exit_code, 0) << s.output;
}

TEST(CudaCliTest, SampleReplaysCudaGraphsWithTheEagerSamples) {
  SKIP_WITHOUT_CUDA();
  TempDir dir;
  const std::string out = dir.file("run");
  const auto config = dir.write("run.yaml", tiny_ring_yaml(out));
  ASSERT_EQ(run_diffuse("train --config " + config + " --steps 50 --device cuda").exit_code, 0);
  const std::string common = "sample --model " + out +
                             "/checkpoint.pt --device cuda --sampler dpm-solver-3 --steps 12"
                             " -n 1000 --batch-size 384";
  const auto graph = run_diffuse(common + " --out " + dir.file("graph.npy"));
  ASSERT_EQ(graph.exit_code, 0) << graph.output;
  EXPECT_EQ(last_json(graph.output).at("cuda_graph"), "replayed") << graph.output;
  const auto eager =
      run_diffuse(common + " --set sampler.cuda_graph=false --out " + dir.file("eager.npy"));
  ASSERT_EQ(eager.exit_code, 0) << eager.output;
  EXPECT_LE(largest_difference(dir.file("graph.npy"), dir.file("eager.npy")), 1e-4);
}

TEST(CudaCliTest, Bf16TrainsAndSamplesOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  TempDir dir;
  const std::string out = dir.file("run");
  const auto config = dir.write("run.yaml", tiny_ring_yaml(out));
  const auto r =
      run_diffuse("train --config " + config + " --steps 100 --device cuda --precision bf16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::isfinite(last_json(r.output).at("eval_loss").get<double>()));
  const auto s = run_diffuse("sample --model " + out +
                             "/checkpoint.pt --device cuda --precision bf16 --sampler ddim-song "
                             "-n 64 --out " + dir.file("bf16.npy"));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_EQ(last_json(s.output).at("cuda_graph"), "replayed") << s.output;
  EXPECT_TRUE(torch::isfinite(load_npy(dir.file("bf16.npy"))).all().item<bool>());
}

TEST(CudaCliTest, BenchTimesEagerAndGraphRunsThatAgree) {
  SKIP_WITHOUT_CUDA();
  const auto r = run_diffuse(
      "bench --device cuda --samplers ddim,ddpm --steps 5 --batch 1,64 --repeats 2 --warmup 1"
      " --train-steps 2 --set model.width=32 --set model.depth=1 --set train.batch_size=32"
      " --set train.eval_size=0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = last_json(r.output);
  EXPECT_GT(report["environment"]["matmul_peak"]["tflop_per_s"].get<double>(), 1.0);
  for (const auto& record : report["sampling"]) {
    const auto& graph = record.at("cuda_graph");
    if (record["sampler"] == "ddpm") {
      EXPECT_NE(graph.at("skipped").get<std::string>().find("noise"), std::string::npos);
      continue;
    }
    EXPECT_LE(graph.at("max_abs_diff_to_eager").get<double>(), 1e-5) << graph.dump();
    EXPECT_GT(graph.at("eager_over_graph").get<double>(), 0.0);
    EXPECT_GT(graph.at("rate").at("of_peak").get<double>(), 0.0);
  }
}

}  // namespace
}  // namespace diffuse::testing
