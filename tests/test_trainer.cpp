// The trainer: a short run on the ring lowers the DSM loss for every network kind; the
// schedule, the EMA and the logs behave; a NaN or Inf loss stops the run with a message naming
// the step and the last good checkpoint, which stays intact.
#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "core/io/jsonl.h"
#include "tests/cli_runner.h"
#include "tests/train_fixture.h"
#include "train/dsm/dsm_eval.h"
#include "train/trainer/ema.h"
#include "train/trainer/optimizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace diffuse::testing {
namespace {

// The DSM loss of a model on fixed ring draws under the run's loss.
double ring_loss(ScoreModel& model, const Trainer& trainer, const std::string& kind) {
  DataConfig data;
  const auto x0 = sample_data(data, 4096, make_generator(21)).to(torch::kFloat32);
  const TimeSampler times(trainer.process(), "uniform", 0, 1);
  const auto draws = fixed_draws(*trainer.process(), x0, times, make_generator(22));
  return per_sample_losses(model, DsmLoss(trainer.process(), kind, 2.84), draws)
      .mean()
      .item<double>();
}

class TrainKinds : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainKinds, ShortRunOnTheRingLowersTheLoss) {
  TempDir dir;
  auto setup = tiny_ring_setup(dir.path().string(), GetParam());
  setup.train.steps = 300;
  setup.train.batch_size = 256;
  setup.train.lr = 3e-3;
  setup.train.log_every = 100;
  setup.train.checkpoint_every = 300;
  setup.train.ema_decay = 0.99;
  if (GetParam() == "subspace") setup.model.rank = 2;
  Trainer trainer(setup);
  const double before = ring_loss(*trainer.model(), trainer, "eps");
  const auto result = trainer.run();
  const double after = ring_loss(*trainer.ema_model(), trainer, "eps");
  EXPECT_EQ(result.step, 300);
  EXPECT_LT(after, 0.75 * before) << GetParam() << ": " << before << " -> " << after;
  // The log has one line per interval with the promised fields.
  const auto lines = read_jsonl(dir.file("train.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  for (const char* key :
       {"step", "loss", "lr", "grad_norm", "steps_per_s", "eval_loss", "oracle_loss"})
    EXPECT_TRUE(lines.back().contains(key)) << key;
  EXPECT_EQ(lines.back()["step"], 300);
  EXPECT_LT(lines.back()["loss"].get<double>(), lines.front()["loss"].get<double>());
  EXPECT_GE(lines.back()["eval_loss"].get<double>(), lines.back()["oracle_loss"].get<double>());
}

INSTANTIATE_TEST_SUITE_P(Train, TrainKinds,
                         ::testing::Values("mlp", "linear", "two-layer", "subspace"),
                         [](const auto& info) {
                           return info.param == "two-layer" ? std::string("two_layer") : info.param;
                         });

TEST(TrainScheduleTest, WarmupThenConstantOrCosine) {
  TrainConfig c;
  c.lr = 1.0;
  c.warmup = 4;
  c.steps = 14;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 0.25);
  EXPECT_DOUBLE_EQ(learning_rate(c, 3), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(c, 10), 1.0);
  c.schedule = "cosine";
  c.min_lr = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate(c, 4), 1.0);
  EXPECT_NEAR(learning_rate(c, 9), 0.55, 1e-12);  // halfway
  EXPECT_NEAR(learning_rate(c, 14), 0.1, 1e-12);
  c.warmup = 0;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 1.0);
}

TEST(TrainEmaTest, AveragesWithWarmedUpDecay) {
  TempDir dir;
  auto setup = tiny_ring_setup(dir.path().string());
  Trainer trainer(setup);  // only to build two networks of one shape
  const auto live = trainer.model(), shadow = trainer.ema_model();
  Ema ema(live, shadow, 0.9);
  for (const auto& p : shadow->module()->parameters()) EXPECT_FALSE(p.requires_grad());
  const auto before = shadow->module()->parameters()[0].clone();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : live->module()->parameters()) p.add_(1.0);
  }
  ema.update(0);  // decay min(0.9, 1/10) = 0.1
  EXPECT_TRUE(torch::allclose(shadow->module()->parameters()[0], before + 0.9, 1e-5, 1e-5));
  ema.update(1000);  // decay 0.9: 0.9 (before + 0.9) + 0.1 (before + 1)
  EXPECT_TRUE(torch::allclose(shadow->module()->parameters()[0], before + 0.91, 1e-5, 1e-5));
}

TEST(TrainGuardTest, NonFiniteLossStopsNamingTheStep) {
  TempDir dir;
  auto setup = tiny_ring_setup(dir.path().string());
  setup.train.lr = 1e30;
  setup.train.warmup = 0;
  Trainer trainer(setup);
  try {
    trainer.run();
    FAIL() << "expected a RuntimeFailure";
  } catch (const RuntimeFailure& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("at step "), std::string::npos) << message;
    EXPECT_NE(message.find("No checkpoint"), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoint.pt")));
}

TEST(TrainGuardTest, CommandExitsOneAndKeepsTheLastGoodCheckpoint) {
  TempDir dir;
  const std::string out = dir.file("run");
  const auto config = dir.write("run.yaml", tiny_ring_yaml(out));
  const auto good = run_diffuse("train --config " + config + " --stop-at 10");
  ASSERT_EQ(good.exit_code, 0) << good.output;
  const std::string checkpoint = out + "/checkpoint.pt";
  const std::string saved = read_bytes(checkpoint);
  const auto bad =
      run_diffuse("train --resume " + checkpoint + " --set train.lr=1e30 --set train.warmup=0");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("at step 1"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find(checkpoint + " (step 10)"), std::string::npos) << bad.output;
  EXPECT_EQ(read_bytes(checkpoint), saved);
}

TEST(TrainCommandTest, TrainsSamplesAndEvaluatesFromTheCheckpoint) {
  TempDir dir;
  const std::string out = dir.file("run");
  const auto config = dir.write("run.yaml", tiny_ring_yaml(out));
  const auto trained = run_diffuse("train --config " + config);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("\"step\":20"), std::string::npos) << trained.output;
  for (const char* name : {"checkpoint.pt", "train.jsonl", "config.yaml"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + name)) << name;

  const auto sampled = run_diffuse("sample --model " + out + "/checkpoint.pt --steps 4 -n 32 " +
                                   "--out " + dir.file("s/samples.npy"));
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  EXPECT_TRUE(std::filesystem::exists(dir.file("s/samples.npy")));

  const auto changed = run_diffuse("sample --model " + out + "/checkpoint.pt --set model.width=8");
  EXPECT_EQ(changed.exit_code, 2) << changed.output;
  EXPECT_NE(changed.output.find("model comes from the checkpoint"), std::string::npos)
      << changed.output;

  const auto evaluated = run_diffuse("eval --model " + out + "/checkpoint.pt --num-draws 2048");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto record = last_json(evaluated.output);
  EXPECT_GT(record["dsm_loss"].get<double>(), record["oracle_dsm_loss"].get<double>());
  EXPECT_EQ(record["loss"], "eps");

  // --sample draws with the checkpoint's sampler and measures like `eval --samples`; --results
  // keeps the same record.
  const auto measured =
      run_diffuse("eval --model " + out + "/checkpoint.pt --num-draws 256 " +
                  "--sample 300 --set sampler.steps=4 --results " + dir.file("r.jsonl"));
  ASSERT_EQ(measured.exit_code, 0) << measured.output;
  const auto with_samples = last_json(measured.output);
  EXPECT_EQ(with_samples["samples"]["count"], 300) << with_samples.dump();
  EXPECT_EQ(with_samples["samples"]["steps"], 4) << with_samples.dump();
  EXPECT_GT(with_samples["samples"]["sliced_w2"].get<double>(), 0.0);
  const auto lines = read_bytes(dir.file("r.jsonl"));
  EXPECT_EQ(nlohmann::json::parse(lines)["samples"]["sliced_w2"],
            with_samples["samples"]["sliced_w2"]);
}

TEST(TrainCommandTest, BenchStepsPrintsATiming) {
  TempDir dir;
  const auto config = dir.write("run.yaml", tiny_ring_yaml(dir.file("run")));
  const auto r = run_diffuse("train --config " + config + " --bench-steps 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GT(last_json(r.output)["ms_per_step"].get<double>(), 0.0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("run/checkpoint.pt")));
}

}  // namespace
}  // namespace diffuse::testing
