// Checkpoints: resuming is bit-identical to an uninterrupted run on CPU; the file is
// written through a temporary name (none left behind; a failed write leaves the old file as it
// was); load_model gives the trained EMA network; another shape, another kind or a file that is
// no checkpoint is a clear InputError; Ctrl-C saves and exits with 130.
#include "core/base/errors.h"
#include "core/io/jsonl.h"
#include "models/checkpoint.h"
#include "tests/cli_runner.h"
#include "tests/network_fixture.h"
#include "tests/train_fixture.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

struct ResumeCase {
  std::string name, optimizer, schedule;
  std::int64_t data_size;
};

class CheckpointResumeTest : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(CheckpointResumeTest, TenPlusTenStepsEqualTwentyBitForBit) {
  TempDir whole, parts;
  const auto configure = [&](const std::string& out) {
    auto s = tiny_ring_setup(out);
    s.train.optimizer = GetParam().optimizer;
    s.train.schedule = GetParam().schedule;
    s.train.data_size = GetParam().data_size;
    s.train.checkpoint_every = 7;  // a save in the middle must not disturb anything
    return s;
  };
  Trainer uninterrupted(configure(whole.path().string()));
  uninterrupted.run();
  {
    Trainer first(configure(parts.path().string()));
    TrainControl control;
    control.stop_at = 10;
    EXPECT_EQ(first.run(control).step, 10);
  }
  Trainer resumed(configure(parts.path().string()));
  resumed.resume(parts.file("checkpoint.pt"));
  EXPECT_EQ(resumed.step(), 10);
  EXPECT_EQ(resumed.run().step, 20);
  expect_equal_weights(*uninterrupted.model(), *resumed.model(), "model");
  expect_equal_weights(*uninterrupted.ema_model(), *resumed.ema_model(), "ema");
  EXPECT_EQ(read_jsonl(parts.file("train.jsonl")).size(), 4u);  // 5, 10 | 15, 20
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, CheckpointResumeTest,
                         ::testing::Values(ResumeCase{"adam_fresh", "adam", "constant", 0},
                                           ResumeCase{"adamw_cosine_fixed", "adamw", "cosine",
                                                      200}),
                         [](const auto& info) { return info.param.name; });

TEST(CheckpointTest, NoTemporaryFileIsLeftAndTheModelLoads) {
  TempDir dir;
  Trainer trainer(tiny_ring_setup(dir.path().string()));
  trainer.run();
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    names.insert(entry.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"checkpoint.pt", "config.yaml", "train.jsonl"}));

  const auto loaded = load_model(dir.file("checkpoint.pt"), torch::kFloat32);
  EXPECT_EQ(loaded.step, 20);
  EXPECT_EQ(loaded.model->kind(), "mlp");
  EXPECT_EQ(loaded.process->name(), "vp-linear");
  EXPECT_TRUE(loaded.model_config.sigma_data.has_value());
  expect_equal_weights(*loaded.model, *trainer.ema_model(), "ema");
  const auto raw = load_model(dir.file("checkpoint.pt"), torch::kFloat32, /*ema=*/false);
  expect_equal_weights(*raw.model, *trainer.model(), "raw");
  const auto x = torch::randn({4, 2});
  const auto t = torch::full({4}, 0.3);
  EXPECT_TRUE(torch::equal(loaded.model->forward(x, t), trainer.ema_model()->forward(x, t)));
}

// A write that fails part-way (the file-size limit stands in for a full disk or a kill) leaves
// the previous checkpoint byte for byte, and no temporary file.
TEST(CheckpointTest, FailedWriteLeavesTheOldCheckpoint) {
  TempDir dir;
  const std::string out = dir.file("run");
  const auto config = dir.write("run.yaml", tiny_ring_yaml(out));
  ASSERT_EQ(run_diffuse("train --config " + config + " --stop-at 10").exit_code, 0);
  const std::string checkpoint = out + "/checkpoint.pt";
  const std::string saved = read_bytes(checkpoint);
  ASSERT_GT(saved.size(), 100000u);
  const std::string command = "(ulimit -f 64; trap '' XFSZ; DIFFUSE_QUIET=1 '" +
                              std::string(DIFFUSE_BINARY) + "' train --resume " + checkpoint +
                              " > '" + dir.file("log.txt") + "' 2>&1)";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1) << read_bytes(dir.file("log.txt"));
  EXPECT_EQ(read_bytes(checkpoint), saved);
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_TRUE(entry.path().filename() == "checkpoint.pt" ||
                entry.path().filename() == "config.yaml" ||
                entry.path().filename() == "train.jsonl")
        << entry.path();
}

TEST(CheckpointTest, WrongShapeIsAClearInputError) {
  TempDir dir;
  Trainer(tiny_ring_setup(dir.path().string())).run();
  auto other = tiny_ring_setup(dir.file("other"));
  other.model.width = 48;
  Trainer wider(other);
  try {
    wider.resume(dir.file("checkpoint.pt"));
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
  const auto r = run_diffuse("train --resume " + dir.file("checkpoint.pt") +
                             " --set model.depth=3 --out " + dir.file("cli"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("blocks.2"), std::string::npos) << r.output;
}

TEST(CheckpointTest, AnotherKindIsAClearInputError) {
  TempDir dir;
  Trainer(tiny_ring_setup(dir.path().string())).run();
  Trainer linear(tiny_ring_setup(dir.file("other"), "linear"));
  try {
    linear.resume(dir.file("checkpoint.pt"));
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("holds a 'mlp' model"), std::string::npos) << e.what();
  }
}

TEST(CheckpointTest, NotACheckpointIsAClearInputError) {
  TempDir dir;
  const auto text = dir.write("notes.pt", "not a checkpoint\n");
  EXPECT_THROW(load_model(text, torch::kFloat32), InputError);
  EXPECT_THROW(load_model(dir.file("missing.pt"), torch::kFloat32), InputError);
  const auto r = run_diffuse("sample --model " + text);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a diffuse checkpoint"), std::string::npos) << r.output;
}

TEST(CheckpointTest, InterruptSavesAndExitsWith130) {
  TempDir dir;
  const std::string out = dir.file("run");
  const auto config = dir.write("run.yaml", tiny_ring_yaml(out));
  const std::string command =
      "DIFFUSE_QUIET=1 '" + std::string(DIFFUSE_BINARY) + "' train --config " + config +
      " --steps 100000000 --set train.log_every=1 > '" + dir.file("log.txt") +
      "' 2>&1 & pid=$!; i=0; while [ ! -s '" + out + "/train.jsonl' ] && [ $i -lt 1200 ]; " +
      "do sleep 0.05; i=$((i+1)); done; kill -INT $pid; wait $pid";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_bytes(dir.file("log.txt"));
  const auto loaded = load_model(out + "/checkpoint.pt", torch::kFloat32);
  EXPECT_GT(loaded.step, 0);
  EXPECT_LT(loaded.step, 100000000);
  EXPECT_NE(read_bytes(dir.file("log.txt")).find("--resume"), std::string::npos);
}

}  // namespace
}  // namespace diffuse::testing
