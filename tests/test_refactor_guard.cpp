// The refactor guard (tests/data/refactor_guard/README.md): what every registered sampler returns
// on two Gaussian mixtures from fixed noise, and the whole checkpoint of a 200-step training run,
// recorded once from the code as it stood and compared on every run since. It asserts nothing
// about correctness (the golden, order and moment tests do that); it fails when a change that
// was meant to move code, not numbers, moved numbers. Every comparison is in float64 on the CPU:
// at most 1e-12 relative (max abs difference over max abs of the record), the float64 rounding
// that a reordered sum may change, far below any change of formula.
//
// A sampler added after the recording has no record: its test fails and says how to record it,
//   DIFFUSE_RECORD_REFACTOR_GUARD=1 build/diffuse_tests --gtest_filter='RefactorGuard*<name>*'
// which writes the missing files only; an existing record is never overwritten by the test.
#include "checkpoint_contents.h"
#include "core/base/config.h"
#include "core/data/mixture_config.h"
#include "core/io/npy.h"
#include "core/process/process.h"
#include "models/analytic.h"
#include "models/denoiser.h"
#include "samplers/generate.h"
#include "samplers/registry.h"
#include "temp_dir.h"
#include "train/trainer/trainer.h"
#include "train_fixture.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace diffuse::testing {
namespace {

const std::string kGuardDir = std::string(DIFFUSE_SOURCE_DIR) + "/tests/data/refactor_guard/";

bool recording() { return std::getenv("DIFFUSE_RECORD_REFACTOR_GUARD") != nullptr; }

// Compares `actual` with the record at `path`, or writes the record when recording and it is
// missing.
void expect_recorded(const torch::Tensor& actual, const std::string& path) {
  if (!std::filesystem::exists(path)) {
    if (recording()) {
      save_npy(path, actual);
      GTEST_SKIP() << "recorded " << path;
    }
    FAIL() << "no record " << path << "; record it with DIFFUSE_RECORD_REFACTOR_GUARD=1";
  }
  const auto expected = load_npy(path);
  ASSERT_EQ(actual.sizes(), expected.sizes()) << path;
  ASSERT_EQ(actual.scalar_type(), expected.scalar_type()) << path;
  const double scale = expected.abs().max().item<double>();
  const double error = (actual - expected).abs().max().item<double>() / scale;
  EXPECT_LE(error, 1e-12) << path;
  std::ostringstream text;
  text << error;
  ::testing::Test::RecordProperty("max_relative_difference", text.str());
}

// One guarded run: a data set, a process and K steps, for every sampler that supports it.
struct GuardRun {
  std::string data;     // ring8 or mixture16 (tests/data/refactor_guard/mixture16.yaml)
  std::string process;  // a make_process kind
  int steps;
  std::string sampler;
};

void PrintTo(const GuardRun& r, std::ostream* os) {
  *os << r.data << "/" << r.process << "/" << r.sampler;
}

ProcessPtr guard_process(const std::string& kind) {
  ProcessConfig config;
  config.kind = kind;
  return make_process(config);
}

GaussianMixture guard_data(const std::string& name) {
  if (name == "ring8") {
    DataConfig data;
    data.kind = "ring8";
    return *make_mixture(data);
  }
  const YAML::Node root = config::read_file(kGuardDir + name + ".yaml");
  return *make_mixture(config::load<DataConfig>(root["data"], "data"));
}

// ring8 with K = 6 (fewer than 10 steps: the multistep rows' lower-order final steps) and the
// 16-D mixture with K = 12, each under VP and under one process of another family.
std::vector<GuardRun> guard_runs() {
  const struct {
    const char* data;
    const char* process;
    int steps;
  } sets[] = {{"ring8", "vp-linear", 6}, {"ring8", "edm", 6}, {"mixture16", "vp-linear", 12},
              {"mixture16", "rf", 12}};
  std::vector<GuardRun> runs;
  for (const auto& set : sets) {
    const auto process = guard_process(set.process);
    for (const auto& row : sampler_registry())
      if (row.supports(*process)) runs.push_back({set.data, set.process, set.steps, row.name});
  }
  return runs;
}

std::string identifier(const std::string& text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : c == '+' ? 'p' : '_';
  return out;
}

std::string run_name(const GuardRun& r) {
  return identifier(r.data + "_" + r.process + "_" + r.sampler);
}

class RefactorGuardSampler : public ::testing::TestWithParam<GuardRun> {};

// 32 samples in two batches of 16 from the recorded standard normal z (x_T = prior_std z), the
// sampler's own draws from seed 7; eta and churn set so that the rows reading them use them.
TEST_P(RefactorGuardSampler, OutputIsTheRecordedOne) {
  const GuardRun& r = GetParam();
  const auto process = guard_process(r.process);
  Denoiser denoiser(std::make_shared<AnalyticMixtureScore>(guard_data(r.data), process), process);
  const auto z = load_npy(kGuardDir + "z_" + r.data + ".npy", 2);
  ASSERT_EQ(z.scalar_type(), torch::kFloat64);

  SamplerConfig config;
  config.name = r.sampler;
  config.steps = r.steps;
  config.eta = 0.5;
  config.s_churn = 0.5;
  GenerateRequest request;
  request.num_samples = z.size(0);
  request.batch_size = 16;
  request.seed = 7;
  request.initial_noise = z * process->prior_std();
  const auto result =
      generate(config, denoiser, {z.size(1)}, torch::TensorOptions(torch::kFloat64), request);
  expect_recorded(result.samples, kGuardDir + "samplers/" + run_name(r) + ".npy");
}

INSTANTIATE_TEST_SUITE_P(Registry, RefactorGuardSampler, ::testing::ValuesIn(guard_runs()),
                         [](const auto& info) { return run_name(info.param); });

// The tiny ring8 mlp of the trainer suite, 200 steps in float64: weights, EMA, Adam moments,
// step and random state against the recorded checkpoint (the config, which names the output
// folder, aside).
TEST(RefactorGuardTraining, TwoHundredStepCheckpointIsTheRecordedOne) {
  TempDir dir;
  auto setup = tiny_ring_setup(dir.path().string());
  setup.train.steps = 200;
  setup.train.log_every = 100;
  setup.train.checkpoint_every = 200;
  setup.options = torch::TensorOptions(torch::kFloat64);
  Trainer(setup).run();
  const auto produced = dir.file("checkpoint.pt");
  const auto record = kGuardDir + "train200.pt";
  if (!std::filesystem::exists(record)) {
    if (recording()) {
      std::filesystem::copy_file(produced, record);
      GTEST_SKIP() << "recorded " << record;
    }
    FAIL() << "no record " << record << "; record it with DIFFUSE_RECORD_REFACTOR_GUARD=1";
  }
  expect_same_checkpoint(produced, record, {"config"}, 1e-12);
}

}  // namespace
}  // namespace diffuse::testing
