// The `diffuse` command end to end: exit codes, error messages for bad input, outputs on disk.
#include "core/io/npy.h"
#include "tests/cli_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

// A small, quick run of the analytic ring in 2-D.
const char* kSmallConfig = R"(seed: 3
process: {kind: vp-linear}
data: {kind: ring8}
model: {kind: analytic}
sampler: {name: euler, steps: 5}
sample: {num_samples: 64, batch_size: 32}
)";

TEST(CliTest, NoArgumentsIsAUsageError) {
  const auto r = run_diffuse("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("usage: diffuse <command>"), std::string::npos) << r.output;
}

TEST(CliTest, HelpListsEveryCommand) {
  const auto r = run_diffuse("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* name : {"train", "sample", "eval", "distill", "finetune", "bench"})
    EXPECT_NE(r.output.find(name), std::string::npos) << name;
}

TEST(CliTest, UnknownCommandIsAUsageError) {
  const auto r = run_diffuse("smaple");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown command 'smaple'"), std::string::npos) << r.output;
}

TEST(CliTest, UnknownOptionIsAUsageError) {
  const auto r = run_diffuse("sample --stepz 4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("stepz"), std::string::npos) << r.output;
}

TEST(CliTest, MissingConfigFile) {
  const auto r = run_diffuse("sample --config /nonexistent/run.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("/nonexistent/run.yaml"), std::string::npos) << r.output;
}

TEST(CliTest, EmptyConfigFile) {
  TempDir dir;
  const auto r = run_diffuse("sample --config " + dir.write("empty.yaml", ""));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("empty"), std::string::npos) << r.output;
}

TEST(CliTest, YamlSyntaxErrorNamesTheLine) {
  TempDir dir;
  const auto path = dir.write("bad.yaml", "sampler:\n  name: [euler\n  steps: 4\n");
  const auto r = run_diffuse("sample --config " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("syntax error"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line"), std::string::npos) << r.output;
}

TEST(CliTest, UnknownKeyNamesItsPath) {
  TempDir dir;
  const auto path = dir.write("run.yaml", "sampler:\n  stepz: 4\n");
  const auto r = run_diffuse("sample --config " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("sampler.stepz"), std::string::npos) << r.output;
}

TEST(CliTest, WrongTypeNamesKeyValueAndExpectation) {
  const auto r = run_diffuse("sample --set sampler.steps=many");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("sampler.steps = 'many': expected an integer"), std::string::npos)
      << r.output;
}

TEST(CliTest, NegativeStepCountIsRejected) {
  const auto r = run_diffuse("sample --steps=-3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("sampler.steps = '-3': expected a value >= 1"), std::string::npos)
      << r.output;
}

TEST(CliTest, UnknownSamplerListsTheKnownOnes) {
  const auto r = run_diffuse("sample --sampler dpm-magic");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("dpm-magic"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("heun"), std::string::npos) << r.output;
}

TEST(CliTest, CorruptNoiseFileIsAClearError) {
  TempDir dir;
  const auto config = dir.write("run.yaml", kSmallConfig);
  const auto noise = dir.write("noise.npy", std::string("\x93NUMPY\x01\x00\x10\x00", 10) +
                                                "{'descr': garbage");
  const auto r = run_diffuse("sample --config " + config + " --noise " + noise + " --out " +
                             dir.file("s.npy"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("noise.npy"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("s.npy")));
}

TEST(CliTest, NoiseOfTheWrongShapeIsRejected) {
  TempDir dir;
  const auto config = dir.write("run.yaml", kSmallConfig);
  save_npy(dir.file("noise.npy"), torch::zeros({64, 3}));
  const auto r = run_diffuse("sample --config " + config + " --noise " + dir.file("noise.npy") +
                             " --out " + dir.file("s.npy"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("[64, 2]"), std::string::npos) << r.output;
}

TEST(CliTest, NoiseWithNaNIsRejectedAndNothingIsWritten) {
  TempDir dir;
  const auto config = dir.write("run.yaml", kSmallConfig);
  auto noise = torch::zeros({64, 2});
  noise[5][1] = std::numeric_limits<float>::quiet_NaN();
  noise[9][0] = std::numeric_limits<float>::infinity();
  save_npy(dir.file("noise.npy"), noise);
  const auto r = run_diffuse("sample --config " + config + " --noise " + dir.file("noise.npy") +
                             " --out " + dir.file("s.npy"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("2 NaN or infinite values"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("s.npy")));
}

TEST(CliTest, CudaOnACpuBuildIsAUsageError) {
  if (DIFFUSE_WITH_CUDA) GTEST_SKIP() << "this build has CUDA";
  const auto r = run_diffuse("sample --device cuda");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--device cpu"), std::string::npos) << r.output;
}

TEST(CliTest, PrintConfigShowsOverridesAndIsValidInput) {
  TempDir dir;
  const auto r = run_diffuse("sample --print-config --set sampler.steps=7 --sampler euler");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("steps: 7"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("name: euler"), std::string::npos) << r.output;
  // The printed config is a valid config that resolves to itself.
  const auto again = run_diffuse("sample --print-config --config " +
                                 dir.write("printed.yaml", r.output));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output, r.output);
}

TEST(CliTest, SampleWritesSamplesPictureConfigAndMetrics) {
  TempDir dir;
  const auto config = dir.write("run.yaml", kSmallConfig);
  const auto out = dir.file("run/samples.npy");
  const auto r = run_diffuse("sample --config " + config + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(load_npy(out).sizes(), (std::vector<int64_t>{64, 2}));
  EXPECT_TRUE(fs::exists(dir.file("run/samples.png")));
  EXPECT_TRUE(fs::exists(dir.file("run/samples.config.yaml")));
  EXPECT_NE(read_bytes(dir.file("run/metrics.jsonl")).find("\"nfe\":5"), std::string::npos);
  for (const auto& entry : fs::directory_iterator(dir.file("run")))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST(CliTest, SameSeedGivesIdenticalSamplesAndBatchSizeDoesNotMatter) {
  TempDir dir;
  const auto config = dir.write("run.yaml", kSmallConfig);
  ASSERT_EQ(run_diffuse("sample --config " + config + " -o " + dir.file("a.npy")).exit_code, 0);
  ASSERT_EQ(run_diffuse("sample --config " + config + " -o " + dir.file("b.npy")).exit_code, 0);
  ASSERT_EQ(run_diffuse("sample --config " + config + " --batch-size 64 -o " +
                        dir.file("c.npy")).exit_code, 0);
  ASSERT_EQ(run_diffuse("sample --config " + config + " --seed 4 -o " + dir.file("d.npy"))
                .exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("a.npy")), read_bytes(dir.file("b.npy")));
  EXPECT_TRUE(torch::equal(load_npy(dir.file("a.npy")), load_npy(dir.file("c.npy"))));
  EXPECT_FALSE(torch::equal(load_npy(dir.file("a.npy")), load_npy(dir.file("d.npy"))));
}

TEST(CliTest, EveryCommandIsAvailable) {
  const auto r = run_diffuse("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.find("not yet available"), std::string::npos) << r.output;
  for (const char* name : {"train", "sample", "eval", "data", "train-classifier", "distill",
                           "finetune", "bench"})
    EXPECT_EQ(run_diffuse(std::string(name) + " --help").exit_code, 0) << name;
}

}  // namespace
}  // namespace diffuse::testing
