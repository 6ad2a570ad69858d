// `diffuse bench` end to end: the JSON report and its fields, usage errors, and the Python peer's
// like-for-like check (skipped where /usr/bin/python3 has no torch). Tiny models, steps and
// batches: each run takes about a second.
#include "tests/cli_runner.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace diffuse::testing {
namespace {

// A small mlp on the ring and a small training batch, so every bench run is quick.
const std::string kTiny =
    " --set model.width=16 --set model.depth=1 --set train.batch_size=16 --set train.eval_size=0"
    " --repeats 2 --warmup 0 --train-steps 1";

void expect_timing(const nlohmann::json& stats) {
  for (const char* key : {"median", "min", "max", "q1", "q3"}) {
    ASSERT_TRUE(stats.contains(key)) << key;
    EXPECT_GT(stats[key].get<double>(), 0.0) << key;
  }
  EXPECT_LE(stats["min"].get<double>(), stats["median"].get<double>());
  EXPECT_LE(stats["median"].get<double>(), stats["max"].get<double>());
}

TEST(BenchTest, PrintsOneJsonReportWithEveryField) {
  const auto r = run_diffuse("bench --samplers ddim,dpm-solver-3 --steps 2 --batch 1,4" + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = last_json(r.output);
  ASSERT_TRUE(report.is_object()) << r.output;
  EXPECT_EQ(report["command"], "bench");
  for (const char* key :
       {"device", "dtype", "threads", "libtorch", "cpu", "cores", "date", "load_average"})
    EXPECT_TRUE(report["environment"].contains(key)) << key;
  EXPECT_EQ(report["environment"]["dtype"], "float32");
  ASSERT_EQ(report["sampling"].size(), 4u);  // 2 samplers x 1 step count x 2 batches
  for (const auto& record : report["sampling"]) {
    expect_timing(record["ms"]);
    EXPECT_EQ(record["ms"]["repeats"], 2);
    EXPECT_GT(record["samples_per_s"].get<double>(), 0.0);
    EXPECT_GT(record["nfe_per_s"].get<double>(), 0.0);
    EXPECT_FALSE(record.contains("peer"));
  }
  EXPECT_EQ(report["sampling"][0]["nfe"], 2);  // ddim: one evaluation a step
  EXPECT_EQ(report["sampling"][2]["nfe"], 6);  // dpm-solver-3: three
  expect_timing(report["training"]["ms_per_step"]);
  EXPECT_GT(report["training"]["steps_per_s"].get<double>(), 0.0);

  // FLOPs of the width-16, depth-1 mlp on the ring (2-d) with a 64-d noise embedding: 2 x the
  // weights of its linear layers: input 2x16, embedding 64x16 and 16x16, the block's three 16x16,
  // output 16x2, skip gain 16x1.
  EXPECT_EQ(report["model"]["forward_flops_per_sample"].get<double>(),
            2.0 * (2 * 16 + 64 * 16 + 16 * 16 + 3 * 16 * 16 + 16 * 2 + 16));
  // Sampling shares one time across the batch, so the noise path (embedding, the projection,
  // skip gain) runs once per evaluation: a run of B samples and N evaluations does
  // ((per sample - noise path) B + noise path) N FLOPs.
  const double per_sample = report["model"]["forward_flops_per_sample"].get<double>();
  const double noise_path = 2.0 * (64 * 16 + 16 * 16 + 16 * 16 + 16);
  EXPECT_EQ(report["model"]["noise_path_flops_per_call"].get<double>(), noise_path);
  EXPECT_GT(report["environment"]["matmul_peak"]["tflop_per_s"].get<double>(), 0.0);
  for (const auto& record : report["sampling"]) {
    // A tiny network's work is far below the matrix-product rate, but not nothing.
    EXPECT_GT(record["rate"]["of_peak"].get<double>(), 0.0) << record.dump();
    EXPECT_LT(record["rate"]["of_peak"].get<double>(), 1.0) << record.dump();
    const double flops = record["rate"]["tflop_per_s"].get<double>() * 1e12 *
                         record["ms"]["median"].get<double>() / 1e3;
    const double batch = record["batch"].get<double>(), nfe = record["nfe"].get<double>();
    EXPECT_NEAR(flops, ((per_sample - noise_path) * batch + noise_path) * nfe, 1e-6 * flops)
        << record.dump();
    EXPECT_FALSE(record.contains("cuda_graph")) << "a CPU run has no CUDA-graph timing";
  }
  EXPECT_GT(report["training"]["rate"]["tflop_per_s"].get<double>(), 0.0);
}

// A subspace model's latent network shares its noise path too: the rate counts that path once.
TEST(BenchTest, SubspaceModelCountsItsLatentNoisePathOnce) {
  const auto r = run_diffuse(
      "bench --set model.kind=subspace --set model.rank=1 --set model.latent=mlp --samplers ddim"
      " --steps 2 --batch 4" +
      kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = last_json(r.output);
  // The latent mlp in 1 dimension: width 16, depth 1, a 64-d embedding; its noise path is the
  // embedding (64x16, 16x16), the block's projection (16x16) and the skip gain (16x1).
  EXPECT_EQ(report["model"]["noise_path_flops_per_call"].get<double>(),
            2.0 * (64 * 16 + 16 * 16 + 16 * 16 + 16));
}

TEST(BenchTest, AnalyticModelHasNoTrainingStep) {
  const auto r = run_diffuse("bench --config " DIFFUSE_SOURCE_DIR
                             "/configs/ring8.yaml --samplers heun --steps 2 --batch 2 "
                             "--repeats 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = last_json(r.output);
  EXPECT_EQ(report["sampling"][0]["nfe"], 4);  // heun: two a step
  EXPECT_TRUE(report["training"].contains("skipped")) << report.dump();
}

TEST(BenchTest, UnknownSamplerIsAUsageError) {
  const auto r = run_diffuse("bench --samplers ddim,nosuch --batch 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown sampler 'nosuch'"), std::string::npos) << r.output;
}

TEST(BenchTest, BadBatchIsAUsageError) {
  for (const char* bad : {"1,x", "0", "4,,8", "2.5"}) {
    const auto r = run_diffuse(std::string("bench --batch ") + bad);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.output.find("--batch"), std::string::npos) << r.output;
  }
  const auto r = run_diffuse("bench --repeats 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--repeats"), std::string::npos) << r.output;
}

TEST(BenchTest, PeerRefusesSamplersItDoesNotImplement) {
  const auto r = run_diffuse("bench --peer --samplers heun --steps 2 --batch 1" + kTiny);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("sampler 'heun'"), std::string::npos) << r.output;
}

TEST(BenchTest, PeerMatchesDiffuseAndReportsRatios) {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 has no torch (apt-get install python3-torch)";
  const auto r =
      run_diffuse("bench --peer --samplers ddim,dpm-solver-3 --steps 3 --batch 5" + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = last_json(r.output);
  EXPECT_FALSE(report["peer"]["torch"].get<std::string>().empty());
  for (const auto& record : report["sampling"]) {
    const auto& check = record["peer"]["check"];
    EXPECT_TRUE(check["match"].get<bool>()) << check.dump();
    EXPECT_EQ(check["nfe"], record["nfe"]);
    EXPECT_LT(check["grid_max_diff"].get<double>(), 1e-12);
    expect_timing(record["peer"]["time"]);
    EXPECT_GT(record["peer_over_diffuse"].get<double>(), 0.0);
  }
  expect_timing(report["training"]["peer"]["time"]);
  EXPECT_GT(report["training"]["peer_over_diffuse"].get<double>(), 0.0);
}

}  // namespace
}  // namespace diffuse::testing
