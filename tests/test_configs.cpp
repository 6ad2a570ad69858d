// Every shipped config under configs/ stays valid as the code changes, one test per file: the
// whole file loads and validates in-process (every section, as the commands read it); a training
// config trains (or, with a distill: section, distils) two steps, logs them and its checkpoint
// samples; a sampling config samples. The samples have the data's dimension, the requested count
// and finite values, and each file says how to run it in its header comment.
#include "apps/run/run_config.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "tests/cli_runner.h"
#include "tests/torchscript_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> shipped_configs() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(DIFFUSE_SOURCE_DIR) / "configs"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The number of values in one sample of the config's data (784 for MNIST-format images).
std::int64_t data_dimension(const DataConfig& data) {
  if (data.kind == "idx") return 28 * 28;
  if (const auto mixture = make_mixture(resolve_data_config(data))) return mixture->dim();
  return 2;  // two-moons
}

// `count` finite samples of `dim` values each.
void expect_samples(const std::string& path, std::int64_t count, std::int64_t dim) {
  ASSERT_TRUE(fs::exists(path)) << path;
  const auto x = load_npy(path);
  ASSERT_GE(x.dim(), 2) << path;
  EXPECT_EQ(x.size(0), count) << path;
  EXPECT_EQ(x.numel() / x.size(0), dim) << path;
  EXPECT_TRUE(torch::isfinite(x).all().item<bool>()) << path;
}

class ConfigsTest : public ::testing::TestWithParam<fs::path> {};

TEST(ShippedConfigs, ThereAreThirtyOrMore) { EXPECT_GE(shipped_configs().size(), 30u); }

TEST_P(ConfigsTest, LoadsTrainsAndSamples) {
  const fs::path file = GetParam();
  const std::string text = read_bytes(file.string());
  EXPECT_NE(text.find("#   diffuse "), std::string::npos) << "no usage line in the header";
  const auto config = config::load<RunConfig>(config::read_file(file.string()));
  std::int64_t dim = data_dimension(config.data);
  TempDir dir;
  std::string with = " --config " + file.string();
  if (config.model.kind == "torchscript") {
    // The user brings the module; a stand-in of the config's shape (eps of Gaussian data).
    const auto source = testing::gaussian_vp_source("eps", "[-1] + [1] * (x.dim() - 1)");
    testing::scripted_module(source).save(dir.file("module.ts"));
    with += " --set model.path=" + dir.file("module.ts");
  }
  if (text.find("\ntrain:") == std::string::npos) {
    const auto r = run_diffuse("sample" + with + " -n 16 -o " + dir.file("s.npy"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_samples(dir.file("s.npy"), 16, dim);
    // The resolved config beside the samples is the file's, with the command's count.
    const auto resolved = config::load<RunConfig>(config::read_file(dir.file("s.config.yaml")));
    EXPECT_EQ(resolved.sampler.name, config.sampler.name);
    EXPECT_EQ(resolved.sample.num_samples, 16);
    return;
  }
  const bool distill = text.find("\ndistill:") != std::string::npos;
  std::string command = "train" + with + " --set train.eval_size=64";
  if (distill) {
    // A checkpoint teacher runs/NAME/checkpoint.pt is the training config configs/NAME.yaml,
    // trained here for two steps.
    command = "distill" + with + " --set distill.eval_samples=64";
    const auto at = text.find("teacher: runs/");
    if (at != std::string::npos) {
      const auto name = text.substr(at + 14, text.find('/', at + 14) - (at + 14));
      const fs::path teacher_config = file.parent_path() / (name + ".yaml");
      const auto teacher = run_diffuse("train --config " + teacher_config.string() +
                                       " --steps 2 -o " + dir.file("teacher"));
      // The student models the teacher's data.
      dim = data_dimension(
          config::load<RunConfig>(config::read_file(teacher_config.string())).data);
      ASSERT_EQ(teacher.exit_code, 0) << teacher.output;
      command += " --teacher " + dir.file("teacher/checkpoint.pt");
    }
  }
  const auto trained = run_diffuse(command + " --steps 2 -o " + dir.file("run"));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  if (!distill) {
    const auto log = read_jsonl(dir.file("run/train.jsonl"));
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log.back()["step"], 2);
    EXPECT_TRUE(std::isfinite(log.back()["loss"].get<double>())) << log.back().dump();
  }
  const auto sampled = run_diffuse("sample --model " + dir.file("run/checkpoint.pt") +
                                   " --steps 2 -n 8 -o " + dir.file("s.npy"));
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  expect_samples(dir.file("s.npy"), 8, dim);
}

std::string config_test_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Shipped, ConfigsTest, ::testing::ValuesIn(shipped_configs()), config_test_name);

}  // namespace
}  // namespace diffuse::testing
