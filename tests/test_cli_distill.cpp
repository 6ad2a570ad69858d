// `diffuse distill` end to end: a short distillation from the analytic ring writes a
// checkpoint whose model `sample --model` draws in one step with the consistency sampler by
// default and refuses to read with a score sampler; resume continues bit-identically (the target
// network is in the checkpoint); bad input exits with code 2 naming what is wrong.
#include "core/io/npy.h"
#include "tests/cli_runner.h"
#include "tests/train_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

// The tiny ring run under edm, distilled for 20 steps.
std::string distill_yaml(const std::string& out) {
  return "seed: 5\n"
         "process: {kind: edm}\n"
         "data: {kind: ring8}\n"
         "model: {kind: mlp, width: 32, depth: 2, embedding_dim: 16}\n"
         "train: {steps: 20, batch_size: 64, lr: 0.002, warmup: 5, log_every: 5,\n"
         "        checkpoint_every: 10, out: '" +
         out +
         "'}\n"
         "distill: {n: 10, target_decay: 0.9, eval_samples: 256}\n";
}

TEST(CliDistill, DistilsAndSamplesInOneStep) {
  TempDir dir;
  const auto config = dir.write("d.yaml", distill_yaml(dir.file("run")));
  const auto r = run_diffuse("distill --config " + config + " --teacher analytic");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"sw2_1step\""), std::string::npos) << r.output;
  const auto checkpoint = dir.file("run/checkpoint.pt");
  ASSERT_TRUE(fs::exists(checkpoint));
  const auto s = run_diffuse("sample --model " + checkpoint + " -n 32 -o " + dir.file("s.npy"));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_NE(s.output.find("\"sampler\":\"consistency\""), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("\"nfe\":1"), std::string::npos) << s.output;
  EXPECT_EQ(load_npy(dir.file("s.npy")).sizes(), (std::vector<std::int64_t>{32, 2}));
  const auto two =
      run_diffuse("sample --model " + checkpoint + " --steps 2 -n 32 -o " + dir.file("s2.npy"));
  EXPECT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("\"nfe\":2"), std::string::npos) << two.output;
  const auto heun =
      run_diffuse("sample --model " + checkpoint + " --sampler heun -n 8 -o " + dir.file("h.npy"));
  EXPECT_EQ(heun.exit_code, 2);
  EXPECT_NE(heun.output.find("consistency model"), std::string::npos) << heun.output;
  EXPECT_FALSE(fs::exists(dir.file("h.npy")));

  const auto no_loss = run_diffuse("eval --model " + checkpoint);
  EXPECT_EQ(no_loss.exit_code, 2) << no_loss.output;
  EXPECT_NE(no_loss.output.find("--sample"), std::string::npos) << no_loss.output;
  const auto measured = run_diffuse("eval --model " + checkpoint + " --sample 256");
  ASSERT_EQ(measured.exit_code, 0) << measured.output;
  const auto record = last_json(measured.output);
  EXPECT_FALSE(record.contains("dsm_loss")) << record.dump();
  EXPECT_EQ(record["samples"]["nfe"], 1) << record.dump();
  EXPECT_GT(record["samples"]["sliced_w2"].get<double>(), 0.0);
}

TEST(CliDistill, ResumeContinuesBitIdentically) {
  TempDir dir;
  const auto whole = dir.write("a.yaml", distill_yaml(dir.file("a")));
  const auto split = dir.write("b.yaml", distill_yaml(dir.file("b")));
  ASSERT_EQ(run_diffuse("distill -c " + whole + " --teacher analytic").exit_code, 0);
  ASSERT_EQ(run_diffuse("distill -c " + split + " --teacher analytic --stop-at 10").exit_code, 0);
  const auto resumed = run_diffuse("distill --resume " + dir.file("b/checkpoint.pt"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  // The checkpoints differ in their train.out; the EMA weights they sample with must not.
  for (const char* run : {"a", "b"})
    ASSERT_EQ(run_diffuse("sample --model " + dir.file(std::string(run) + "/checkpoint.pt") +
                          " --steps 2 -n 64 -o " + dir.file(std::string(run) + ".npy"))
                  .exit_code,
              0);
  EXPECT_TRUE(read_bytes(dir.file("a.npy")) == read_bytes(dir.file("b.npy")));
}

TEST(CliDistill, BadInputExitsWithCodeTwo) {
  TempDir dir;
  const auto config = dir.write("d.yaml", distill_yaml(dir.file("run")));
  const auto no_teacher = run_diffuse("distill --config " + config);
  EXPECT_EQ(no_teacher.exit_code, 2);
  EXPECT_NE(no_teacher.output.find("distill.teacher"), std::string::npos) << no_teacher.output;
  const auto missing =
      run_diffuse("distill --config " + config + " --teacher " + dir.file("nope.pt"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("no such file"), std::string::npos) << missing.output;
  const auto solver =
      run_diffuse("distill --config " + config + " --teacher analytic --set distill.solver=rk4");
  EXPECT_EQ(solver.exit_code, 2);
  EXPECT_NE(solver.output.find("distill.solver"), std::string::npos) << solver.output;
  const auto decay = run_diffuse("distill --config " + config +
                                 " --teacher analytic --set distill.target_decay=1");
  EXPECT_EQ(decay.exit_code, 2);
  EXPECT_NE(decay.output.find("distill.target_decay"), std::string::npos) << decay.output;
  const auto moons =
      run_diffuse("distill --config " + config + " --teacher analytic --set data.kind=two-moons");
  EXPECT_EQ(moons.exit_code, 2);
  EXPECT_NE(moons.output.find("analytic"), std::string::npos) << moons.output;
  // Nothing was written by the failed runs.
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

TEST(CliDistill, TeacherCheckpointFixesProcessAndData) {
  TempDir dir;
  const auto teach = dir.write("t.yaml", tiny_ring_yaml(dir.file("teacher")));
  ASSERT_EQ(run_diffuse("train -c " + teach + " --steps 10").exit_code, 0);
  const auto teacher = dir.file("teacher/checkpoint.pt");
  // No config at all: process, data and model come from the teacher.
  const auto r = run_diffuse("distill --teacher " + teacher +
                             " --steps 4 --set train.log_every=2 "
                             "--set distill.init=teacher -o " +
                             dir.file("cd"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir.file("cd/checkpoint.pt")));
  const auto clash = run_diffuse("distill --teacher " + teacher +
                                 " --set process.kind=edm "
                                 "--steps 4 -o " +
                                 dir.file("clash"));
  EXPECT_EQ(clash.exit_code, 2);
  EXPECT_NE(clash.output.find("process differs from the teacher"), std::string::npos)
      << clash.output;
}

}  // namespace
}  // namespace diffuse::testing
