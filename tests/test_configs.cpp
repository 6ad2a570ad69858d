// Every shipped config under configs/ stays valid as the code changes: a training config trains
// (or, with a distill: section, distils) two steps and its checkpoint samples; a sampling config
// samples. Each must also say how to run it in its header comment.
#include "tests/cli_runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace diffuse::testing {
namespace {

std::vector<std::filesystem::path> shipped_configs() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(DIFFUSE_SOURCE_DIR) / "configs"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ConfigsTest, EveryShippedConfigRuns) {
  const auto files = shipped_configs();
  ASSERT_GE(files.size(), 30u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string text = read_bytes(file.string());
    EXPECT_NE(text.find("#   diffuse "), std::string::npos) << "no usage line in the header";
    TempDir dir;
    const std::string config = " --config " + file.string();
    if (text.find("\ntrain:") == std::string::npos) {
      const auto r = run_diffuse("sample" + config + " -n 16 -o " + dir.file("s.npy"));
      EXPECT_EQ(r.exit_code, 0) << r.output;
      continue;
    }
    std::string command = "train" + config + " --set train.eval_size=64";
    if (text.find("\ndistill:") != std::string::npos) {
      // A distillation config; a checkpoint teacher runs/NAME/checkpoint.pt is the training
      // config configs/NAME.yaml, trained here for two steps.
      command = "distill" + config + " --set distill.eval_samples=64";
      const auto at = text.find("teacher: runs/");
      if (at != std::string::npos) {
        const auto name = text.substr(at + 14, text.find('/', at + 14) - (at + 14));
        const auto teacher = run_diffuse("train --config " + file.parent_path().string() + "/" +
                                         name + ".yaml --steps 2 -o " + dir.file("teacher"));
        ASSERT_EQ(teacher.exit_code, 0) << teacher.output;
        command += " --teacher " + dir.file("teacher/checkpoint.pt");
      }
    }
    const auto trained = run_diffuse(command + " --steps 2 -o " + dir.file("run"));
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
    const auto sampled = run_diffuse("sample --model " + dir.file("run/checkpoint.pt") +
                                     " --steps 2 -n 8 -o " + dir.file("s.npy"));
    EXPECT_EQ(sampled.exit_code, 0) << sampled.output;
  }
}

}  // namespace
}  // namespace diffuse::testing
