// Data-parallel training: shards cover each batch exactly; the launch environment is
// read strictly; 2 and 3 processes (by --nproc and by a launcher's environment) end with the
// weights of 1 process with the same global batch, to float32 reduction rounding; a checkpoint
// resumes on another number of processes; a killed rank stops the others with a clear error
// instead of a hang, and its last checkpoint resumes; Ctrl-C saves and exits with 130.
#include "core/base/errors.h"
#include "models/checkpoint.h"
#include "tests/cli_runner.h"
#include "train/distributed/data_parallel.h"
#include "train/distributed/launch_environment.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>

namespace diffuse::testing {
namespace {

TEST(ShardTest, ShardsAreContiguousBalancedAndCoverTheBatch) {
  for (std::int64_t rows : {1, 2, 7, 64, 65, 1000})
    for (int world : {1, 2, 3, 4, 7}) {
      if (rows < world) continue;
      std::int64_t next = 0;
      for (int rank = 0; rank < world; ++rank) {
        const Shard s = shard_of(rows, rank, world);
        EXPECT_EQ(s.begin, next) << rows << " rows, rank " << rank << " of " << world;
        EXPECT_GE(s.size, rows / world);
        EXPECT_LE(s.size, rows / world + 1);
        next = s.begin + s.size;
      }
      EXPECT_EQ(next, rows) << rows << " rows over " << world;
    }
}

using Variables = std::map<std::string, std::string>;

std::optional<LaunchEnvironment> read(const Variables& vars) {
  return read_launch_environment([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(LaunchEnvironmentTest, ReadsWhatALauncherSets) {
  EXPECT_FALSE(read({}).has_value());
  EXPECT_FALSE(read({{"WORLD_SIZE", "1"}, {"RANK", "0"}}).has_value());
  const auto env = read({{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"},
                         {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "29501"}});
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->world_size, 4);
  EXPECT_EQ(env->rank, 3);
  EXPECT_EQ(env->local_rank, 1);
  EXPECT_EQ(env->master_addr, "10.0.0.2");
  EXPECT_EQ(env->master_port, 29501);
  EXPECT_FALSE(env->launcher_hosts_store);
  EXPECT_FALSE(env->is_root());
  // What --nproc sets reads back as itself.
  Variables local;
  for (const auto& [k, v] : local_launch_variables(0, 2, 4321)) local[k] = v;
  const auto mine = read(local);
  ASSERT_TRUE(mine.has_value());
  EXPECT_TRUE(mine->launcher_hosts_store);
  EXPECT_TRUE(mine->is_root());
  EXPECT_EQ(mine->master_port, 4321);
}

TEST(LaunchEnvironmentTest, BadValuesNameTheVariable) {
  const Variables base{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"},
                       {"MASTER_PORT", "29500"}};
  const auto error_of = [&](const std::string& key, const char* value) {
    Variables v = base;
    if (value == nullptr)
      v.erase(key);
    else
      v[key] = value;
    try {
      read(v);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("RANK", "2").find("RANK='2'"), std::string::npos);
  EXPECT_NE(error_of("RANK", nullptr).find("RANK is not set"), std::string::npos);
  EXPECT_NE(error_of("WORLD_SIZE", "two").find("WORLD_SIZE='two'"), std::string::npos);
  EXPECT_NE(error_of("MASTER_PORT", "70000").find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(error_of("MASTER_ADDR", nullptr).find("MASTER_ADDR"), std::string::npos);
}

// ---- whole runs through the command line ----

constexpr int kTrainSteps = 30;

std::string run_yaml(const std::string& out,
                     const std::string& model = "{kind: mlp, width: 32, depth: 2, "
                                                "embedding_dim: 16}",
                     const std::string& process = "vp-linear") {
  return "seed: 5\n"
         "process: {kind: " + process + "}\n"
         "data: {kind: ring8}\n"
         "model: " + model + "\n"
         "train: {steps: " + std::to_string(kTrainSteps) + ", batch_size: 64, lr: 0.005, warmup: 5,\n"
         "        log_every: 10, checkpoint_every: 10, eval_size: 256, out: '" + out + "'}\n";
}

std::string binary() { return std::string("'") + DIFFUSE_BINARY + "'"; }

// A TCP port that was free a moment ago.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// The largest |a - b| over the raw (ema = false) or EMA weights of two checkpoints.
double max_weight_difference(const std::string& a, const std::string& b, bool ema) {
  const auto ma = load_model(a, torch::kFloat32, ema), mb = load_model(b, torch::kFloat32, ema);
  const auto pa = ma.model->module()->named_parameters();
  const auto pb = mb.model->module()->named_parameters();
  double worst = 0.0;
  for (const auto& item : pa)
    worst = std::max(worst, (item.value() - pb[item.key()]).abs().max().item<double>());
  return worst;
}

// Float32 sums in another order: differences of a few ulps per step, 30 Adam steps.
constexpr double kTolerance = 2e-5;

class DataParallelRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!DataParallel::available()) GTEST_SKIP() << "built without c10d's Gloo process group";
    const std::string out = dir_.file("one");
    const auto r = run_diffuse("train --config " + dir_.write("one.yaml", run_yaml(out)));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    reference_ = out + "/checkpoint.pt";
  }

  // Asserts `checkpoint` holds (nearly) the one-process weights after kTrainSteps.
  void expect_reference_weights(const std::string& checkpoint) {
    EXPECT_EQ(load_model(checkpoint, torch::kFloat32).step, kTrainSteps);
    const double raw = max_weight_difference(reference_, checkpoint, false);
    const double ema = max_weight_difference(reference_, checkpoint, true);
    EXPECT_LT(raw, kTolerance);
    EXPECT_LT(ema, kTolerance);
    std::cerr << "max |w - w_1proc|: raw " << raw << ", ema " << ema << "\n";
  }

  TempDir dir_;
  std::string reference_;
};

TEST_F(DataParallelRunTest, NprocTwoAndThreeGiveTheOneProcessWeights) {
  for (int nproc : {2, 3}) {  // 64 rows: 32 + 32, and 22 + 21 + 21
    const std::string out = dir_.file("n" + std::to_string(nproc));
    const auto r = run_diffuse("train --nproc " + std::to_string(nproc) + " --config " +
                               dir_.write("n.yaml", run_yaml(out)));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto summary = last_json(r.output);
    EXPECT_EQ(summary.value("world_size", 0), nproc) << r.output;
    expect_reference_weights(out + "/checkpoint.pt");
    // One log, written by rank 0, whose lines say how many processes trained.
    const std::string log = read_bytes(out + "/train.jsonl");
    EXPECT_NE(log.find("\"world_size\":" + std::to_string(nproc)), std::string::npos) << log;
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), kTrainSteps / 10) << log;
  }
}

TEST_F(DataParallelRunTest, LauncherEnvironmentGivesTheOneProcessWeights) {
  // Two ranks started the way torchrun or a scheduler would: rank 0 opens the store.
  const std::string out = dir_.file("env");
  const std::string config = dir_.write("env.yaml", run_yaml(out));
  const std::string port = std::to_string(free_port());
  const auto rank = [&](int r) {
    return "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " RANK=" +
           std::to_string(r) + " DIFFUSE_QUIET=1 timeout 300 " + binary() + " train --config " +
           config + " > '" + dir_.file("rank" + std::to_string(r) + ".txt") + "' 2>&1";
  };
  const std::string command = rank(0) + " & p0=$!; " + rank(1) + " & p1=$!; " +
                              "wait $p0; e0=$?; wait $p1; e1=$?; exit $((e0 * 16 + e1))";
  const int status = std::system(command.c_str());
  ASSERT_EQ(WEXITSTATUS(status), 0) << read_bytes(dir_.file("rank0.txt"))
                                    << read_bytes(dir_.file("rank1.txt"));
  expect_reference_weights(out + "/checkpoint.pt");
  EXPECT_TRUE(last_json(read_bytes(dir_.file("rank1.txt"))).is_null())
      << "only rank 0 reports: " << read_bytes(dir_.file("rank1.txt"));
}

TEST_F(DataParallelRunTest, ResumesOnAnotherNumberOfProcesses) {
  // 2 processes for the first 10 steps, 1 for the next 10, 3 for the last 10.
  const std::string out = dir_.file("mixed");
  const std::string config = dir_.write("mixed.yaml", run_yaml(out));
  const std::string checkpoint = out + "/checkpoint.pt";
  auto r = run_diffuse("train --nproc 2 --config " + config + " --stop-at 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_diffuse("train --resume " + checkpoint + " --stop-at 20");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_diffuse("train --nproc 3 --resume " + checkpoint);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_reference_weights(checkpoint);
}

// Every model class and process, and the class-conditional path (label dropout is drawn for the
// whole batch, then sharded).
struct ModelCase {
  std::string name, model, process;
};

class DataParallelModelTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(DataParallelModelTest, TwoProcessesGiveTheOneProcessWeights) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without c10d's Gloo process group";
  TempDir dir;
  std::string checkpoints[2];
  for (int nproc : {1, 2}) {
    const std::string out = dir.file("n" + std::to_string(nproc));
    const auto r = run_diffuse(
        "train --nproc " + std::to_string(nproc) + " --config " +
        dir.write("run.yaml", run_yaml(out, GetParam().model, GetParam().process)));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    checkpoints[nproc - 1] = out + "/checkpoint.pt";
  }
  EXPECT_LT(max_weight_difference(checkpoints[0], checkpoints[1], false), kTolerance);
  EXPECT_LT(max_weight_difference(checkpoints[0], checkpoints[1], true), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Models, DataParallelModelTest,
    ::testing::Values(
        ModelCase{"linear_ve", "{kind: linear}", "ve"},
        ModelCase{"two_layer_edm", "{kind: two-layer, components: 4, hidden: 16}", "edm"},
        ModelCase{"subspace_rf", "{kind: subspace, rank: 1, latent: two-layer, components: 2}",
                  "rf"},
        ModelCase{"mlp_classes", "{kind: mlp, width: 32, depth: 2, num_classes: 8}",
                  "vp-cosine"},
        // 13 MB of gradients: several buckets, summed while backward runs.
        ModelCase{"mlp_wide", "{kind: mlp, width: 1024, depth: 1}", "vp-linear"}),
    [](const auto& info) { return info.param.name; });

TEST(DataParallelFailureTest, AKilledRankStopsTheOthersAndTheCheckpointResumes) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without c10d's Gloo process group";
  TempDir dir;
  const std::string out = dir.file("run");
  const std::string config = dir.write("run.yaml", run_yaml(out));
  const std::string log = dir.file("log.txt");
  // Once a checkpoint exists, SIGKILL rank 1 (found by its RANK variable among the launcher's
  // children) and wait at most 120 s for the launcher to end (then kill it: no hanging test).
  const std::string command =
      "DIFFUSE_QUIET=1 " + binary() + " train --nproc 2 --config " + config +
      " --steps 100000000 --set train.checkpoint_every=20 > '" + log + "' 2>&1 & pid=$!; " +
      "i=0; while [ ! -s '" + out + "/checkpoint.pt' ] && [ $i -lt 1200 ]; do sleep 0.05; " +
      "i=$((i+1)); done; for c in $(cat /proc/$pid/task/*/children); do " +
      "if tr '\\0' '\\n' < /proc/$c/environ | grep -qx RANK=1; then kill -9 $c; fi; done; " +
      "j=0; while kill -0 $pid 2>/dev/null && [ $j -lt 2400 ]; do sleep 0.05; j=$((j+1)); " +
      "done; kill -9 $pid 2>/dev/null; wait $pid";
  const auto started = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string text = read_bytes(log);
  EXPECT_EQ(WEXITSTATUS(status), 1) << text;
  EXPECT_LT(seconds, 100.0) << text;
  EXPECT_NE(text.find("rank 1"), std::string::npos) << text;
  EXPECT_NE(text.find("signal 9"), std::string::npos) << text;
  // Rank 0 noticed by itself, with the checkpoint to go back to.
  EXPECT_NE(text.find("rank 0 of 2 lost contact"), std::string::npos) << text;
  EXPECT_NE(text.find("Last good checkpoint"), std::string::npos) << text;
  // The last checkpoint is whole and resumes.
  const auto loaded = load_model(out + "/checkpoint.pt", torch::kFloat32);
  EXPECT_EQ(loaded.step % 20, 0);
  const auto r = run_diffuse("train --resume " + out + "/checkpoint.pt --steps " +
                             std::to_string(loaded.step + 5));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(load_model(out + "/checkpoint.pt", torch::kFloat32).step, loaded.step + 5);
}

TEST(DataParallelFailureTest, CtrlCSavesOnEveryRankAndExitsWith130) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without c10d's Gloo process group";
  TempDir dir;
  const std::string out = dir.file("run");
  const std::string config = dir.write("run.yaml", run_yaml(out));
  const std::string command =
      "DIFFUSE_QUIET=1 " + binary() + " train --nproc 2 --config " + config +
      " --steps 100000000 --set train.log_every=1 > '" + dir.file("log.txt") +
      "' 2>&1 & pid=$!; i=0; while [ ! -s '" + out + "/train.jsonl' ] && [ $i -lt 1200 ]; " +
      "do sleep 0.05; i=$((i+1)); done; kill -INT $pid; wait $pid";
  const int status = std::system(command.c_str());
  const std::string text = read_bytes(dir.file("log.txt"));
  EXPECT_EQ(WEXITSTATUS(status), 130) << text;
  const auto loaded = load_model(out + "/checkpoint.pt", torch::kFloat32);
  EXPECT_GT(loaded.step, 0);
  EXPECT_NE(text.find("--resume"), std::string::npos) << text;
}

TEST(DataParallelFailureTest, BadOptionsAreUsageErrors) {
  TempDir dir;
  const std::string config = dir.write("run.yaml", run_yaml(dir.file("run")));
  auto r = run_diffuse("train --nproc 0 --config " + config);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--nproc"), std::string::npos) << r.output;
  r = run_diffuse("train --nproc 3 --config " + config + " --set train.batch_size=2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("batch_size"), std::string::npos) << r.output;
  r = run_diffuse("train --dist-timeout -1 --config " + config);
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace diffuse::testing
