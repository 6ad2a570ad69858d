// Bad input is an InputError (exit 2) naming what is wrong and what was expected, and nothing is
// written: truncated and damaged checkpoints through every command that reads one, each error
// branch of the checkpoint loaders, corrupt IDX files through the command line, non-finite rows
// in an input .npy, and a temporary file left by a killed run.
#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/io/npy.h"
#include "models/checkpoint.h"
#include "tests/cli_runner.h"
#include "tests/train_fixture.h"
#include "train/trainer/checkpoint.h"
#include "train/trainer/optimizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "expected '" << part << "' in:\n" << text;
}

// Expects `f` to throw an InputError whose message holds every one of `parts`.
void expect_input_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected an InputError with '" << parts.front() << "'";
  } catch (const InputError& e) {
    for (const auto& part : parts) expect_contains(e.what(), part);
  }
}

// The first byte at or after `at` that lies in a record's data in the zip file `bytes`, and how
// many data bytes follow it in that record. Sizes come from the zip directory (the local headers
// of LibTorch's records leave them to a data descriptor); the file has no zip comment.
std::pair<std::size_t, std::size_t> record_data_at(const std::string& bytes, std::size_t at) {
  const auto u16 = [&](std::size_t i) {
    return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])) |
           static_cast<std::size_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
  };
  const auto u32 = [&](std::size_t i) { return u16(i) | u16(i + 2) << 16; };
  const std::size_t end = bytes.size() - 22;
  std::pair<std::size_t, std::size_t> best = {bytes.size(), 0};
  for (std::size_t entry = u32(end + 16), i = 0; i < u16(end + 10); ++i) {
    const std::size_t size = u32(entry + 20), header = u32(entry + 42);
    const std::size_t start = header + 30 + u16(header + 26) + u16(header + 28);
    if (size > 0 && at < start + size && std::max(at, start) < best.first)
      best = {std::max(at, start), start + size - std::max(at, start)};
    entry += 46 + u16(entry + 28) + u16(entry + 30) + u16(entry + 32);
  }
  EXPECT_GT(best.second, 0u) << "no record data after byte " << at;
  return best;
}

// `bytes` with up to `count` bytes of record data inverted from about byte `at`.
std::string flip_record_bytes(std::string bytes, std::size_t at, std::size_t count) {
  const auto [from, available] = record_data_at(bytes, at);
  for (std::size_t i = from; i < from + std::min(count, available); ++i) bytes[i] ^= '\xff';
  return bytes;
}

// --- truncated and damaged checkpoints through the command line --------------------------------

const std::string kUnreadable = "not a readable diffuse checkpoint";

class DamagedCheckpointCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = new TempDir();
    const auto r =
        run_diffuse("train --config " + dir->write("run.yaml", tiny_ring_yaml(dir->file("run"))));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string good = read_bytes(dir->file("run/checkpoint.pt"));
    ASSERT_GT(good.size(), 100000u);
    write_bytes(dir->file("truncated.pt"), good.substr(0, good.size() / 2));
    // The middle of the file is tensor data: LibTorch itself would load it without a word.
    write_bytes(dir->file("flipped.pt"), flip_record_bytes(good, good.size() / 2, 16));
    // Near the end: the zip directory.
    std::string directory = good;
    for (std::size_t i = good.size() - 300; i < good.size() - 290; ++i) directory[i] ^= '\xff';
    write_bytes(dir->file("directory.pt"), directory);
  }
  static void TearDownTestSuite() { delete dir; }

  // Runs `diffuse <arguments>` on `name` (the placeholder CKPT), and expects exit 2 with a message
  // naming the file as not readable and `what`, the file unchanged and nothing at `output`.
  static void expect_rejected(const std::string& arguments, const std::string& name,
                              const std::string& what, const std::string& output) {
    const std::string checkpoint = dir->file(name);
    const std::string before = read_bytes(checkpoint);
    std::string command = arguments;
    command.replace(command.find("CKPT"), 4, checkpoint);
    const auto r = run_diffuse(command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.output;
    expect_contains(r.output, "error: checkpoint " + checkpoint + ": " + kUnreadable + " (");
    expect_contains(r.output, what);
    EXPECT_EQ(read_bytes(checkpoint), before) << checkpoint << " was changed";
    EXPECT_FALSE(fs::exists(output)) << output << " was written by: " << command;
  }

  static TempDir* dir;
};
TempDir* DamagedCheckpointCli::dir = nullptr;

TEST_F(DamagedCheckpointCli, TruncatedIsRejectedByEveryCommand) {
  const std::string why = "truncated: no zip directory at its end";
  expect_rejected("sample --model CKPT -o " + dir->file("t-sample/s.npy"), "truncated.pt", why,
                  dir->file("t-sample"));
  expect_rejected("eval --model CKPT --results " + dir->file("t-eval/r.jsonl"), "truncated.pt",
                  why, dir->file("t-eval"));
  expect_rejected("train --resume CKPT --out " + dir->file("t-train"), "truncated.pt", why,
                  dir->file("t-train"));
  expect_rejected("finetune --resume CKPT --out " + dir->file("t-finetune"), "truncated.pt", why,
                  dir->file("t-finetune"));
}

TEST_F(DamagedCheckpointCli, FlippedBytesAreRejectedByEveryCommand) {
  // Tensor records are named archive/data/<n> inside the zip.
  const std::string why = "damaged: record 'archive/data/";
  expect_rejected("sample --model CKPT -o " + dir->file("f-sample/s.npy"), "flipped.pt", why,
                  dir->file("f-sample"));
  expect_rejected("eval --model CKPT --results " + dir->file("f-eval/r.jsonl"), "flipped.pt", why,
                  dir->file("f-eval"));
  expect_rejected("train --resume CKPT --out " + dir->file("f-train"), "flipped.pt", why,
                  dir->file("f-train"));
  expect_rejected("finetune --resume CKPT --out " + dir->file("f-finetune"), "flipped.pt", why,
                  dir->file("f-finetune"));
}

TEST_F(DamagedCheckpointCli, ADamagedZipDirectoryIsRejected) {
  expect_rejected("sample --model CKPT -o " + dir->file("d-sample/s.npy"), "directory.pt",
                  "expected a checkpoint.pt written whole by diffuse", dir->file("d-sample"));
  expect_rejected("train --resume CKPT --out " + dir->file("d-train"), "directory.pt",
                  "expected a checkpoint.pt written whole by diffuse", dir->file("d-train"));
}

// --- the loaders' error branches ----------------------------------------------------------------

class CheckpointLoaderTest : public ::testing::Test {
 protected:
  struct Parts {
    // Replaces a header entry (format, kind, config, step); nullopt leaves it out.
    std::map<std::string, std::optional<c10::IValue>> header;
    std::set<std::string> omit;  // of model, ema, optimizer, rng
    std::optional<c10::IValue> seed = c10::IValue(std::int64_t{5});
    std::int64_t saved_depth = 2;         // the saved networks' depth (the config says 2)
    bool optimizer_of_one_tensor = false;  // an optimiser state of another parameter list
  };

  // A checkpoint as the trainer writes it (of untrained networks), changed as `parts` says.
  std::string write(const std::string& name, const Parts& parts) {
    const Trainer base(tiny_ring_setup(dir_.file("base")));  // its resolved config
    auto saved_setup = tiny_ring_setup(dir_.file("saved"));
    saved_setup.model.depth = parts.saved_depth;
    const Trainer saved(saved_setup);
    auto params = saved.model()->module()->parameters();
    if (parts.optimizer_of_one_tensor) params.resize(1);
    const auto optimizer = make_optimizer(saved_setup.train, params);
    std::map<std::string, c10::IValue> header = {
        {"format", c10::IValue(std::string(kCheckpointFormat))},
        {"kind", c10::IValue(std::string("mlp"))},
        {"config", c10::IValue(base.config_yaml())},
        {"step", c10::IValue(std::int64_t{20})}};
    torch::serialize::OutputArchive archive;
    for (const auto& [key, value] : header) {
      const auto replaced = parts.header.find(key);
      if (replaced == parts.header.end())
        archive.write(key, value);
      else if (replaced->second)
        archive.write(key, *replaced->second);
    }
    torch::serialize::OutputArchive weights, averaged, state, rng;
    saved.model()->module()->save(weights);
    saved.ema_model()->module()->save(averaged);
    optimizer->save(state);
    if (parts.seed) rng.write("seed", *parts.seed);
    for (auto& [key, nested] : std::map<std::string, torch::serialize::OutputArchive*>{
             {"model", &weights}, {"ema", &averaged}, {"optimizer", &state}, {"rng", &rng}})
      if (!parts.omit.count(key)) archive.write(key, *nested);
    const std::string path = dir_.file(name);
    save_archive_atomically(archive, path);
    return path;
  }

  static c10::IValue text(const std::string& value) { return c10::IValue(value); }

  void expect_load_fails(const std::string& path, const std::vector<std::string>& parts) {
    std::vector<std::string> with_path = parts;
    with_path.push_back(path);
    expect_input_error([&] { load_model(path, torch::kFloat32); }, with_path);
  }

  void expect_resume_fails(const std::string& path, const std::vector<std::string>& parts) {
    std::vector<std::string> with_path = parts;
    with_path.push_back(path);
    Trainer trainer(tiny_ring_setup(dir_.file("resumed")));
    expect_input_error([&] { trainer.resume(path); }, with_path);
  }

  TempDir dir_;
};

TEST_F(CheckpointLoaderTest, TheUnchangedFileLoadsAndResumes) {
  // The baseline the other cases change one thing of.
  const auto path = write("good.pt", {});
  EXPECT_EQ(load_model(path, torch::kFloat32).step, 20);
  Trainer trainer(tiny_ring_setup(dir_.file("resumed")));
  trainer.resume(path);
  EXPECT_EQ(trainer.step(), 20);
}

TEST_F(CheckpointLoaderTest, EachMissingHeaderEntryIsNamed) {
  for (const char* key : {"format", "kind", "config", "step"}) {
    Parts parts;
    parts.header[key] = std::nullopt;
    const auto path = write(std::string("no-") + key + ".pt", parts);
    expect_load_fails(path, {"not a diffuse checkpoint (no '" + std::string(key) + "' entry)"});
    expect_resume_fails(path, {"no '" + std::string(key) + "' entry"});
  }
}

TEST_F(CheckpointLoaderTest, AnotherFormatVersionIsNamed) {
  Parts parts;
  parts.header["format"] = text("diffuse-checkpoint-0");
  expect_load_fails(write("old.pt", parts),
                    {"format 'diffuse-checkpoint-0', expected 'diffuse-checkpoint-1'"});
}

TEST_F(CheckpointLoaderTest, AStepThatIsNotAnIntegerOrNegativeIsRejected) {
  Parts text_step;
  text_step.header["step"] = text("20");
  expect_load_fails(write("text-step.pt", text_step), {"no 'step' entry"});
  Parts negative;
  negative.header["step"] = c10::IValue(std::int64_t{-3});
  const auto path = write("negative.pt", negative);
  expect_load_fails(path, {"step -3 is negative", "expected", ">= 0"});
  expect_resume_fails(path, {"step -3 is negative"});
}

TEST_F(CheckpointLoaderTest, AConfigThatIsNotYamlOrInvalidIsNamed) {
  Parts broken;
  broken.header["config"] = text("model: {kind: mlp\n");
  expect_load_fails(write("broken.pt", broken), {"the checkpoint's config is not valid YAML"});
  Parts invalid;
  invalid.header["config"] =
      text("seed: 5\nprocess: {kind: vp-linear}\ndata: {kind: ring8}\n"
           "model: {kind: mlp, width: -4, depth: 2, embedding_dim: 16}\n");
  expect_load_fails(write("invalid.pt", invalid), {"model.width"});
  Parts unknown_process;
  unknown_process.header["config"] =
      text("seed: 5\nprocess: {kind: no-such-process}\ndata: {kind: ring8}\n"
           "model: {kind: mlp, width: 32, depth: 2, embedding_dim: 16}\n");
  expect_load_fails(write("process.pt", unknown_process), {"process.kind", "no-such-process"});
  Parts no_model;
  no_model.header["config"] = text("seed: 5\nprocess: {kind: vp-linear}\ndata: {kind: ring8}\n");
  const auto path = write("no-model-section.pt", no_model);
  expect_load_fails(path, {"the checkpoint's config has no 'model' section"});
  expect_input_error([&] { read_checkpoint_config(path); }, {path, "no 'model' section"});
  Parts scalar;
  scalar.header["config"] = text("just a sentence");
  expect_load_fails(write("scalar.pt", scalar), {"config is not a mapping of sections"});
}

TEST_F(CheckpointLoaderTest, AKindTheConfigDisagreesWithIsNamed) {
  Parts parts;
  parts.header["kind"] = text("linear");
  const auto path = write("kind.pt", parts);
  expect_load_fails(path, {"holds a 'linear' model but its config says 'mlp'"});
  expect_resume_fails(path, {"holds a 'linear' model", "model.kind = mlp"});
}

TEST_F(CheckpointLoaderTest, MissingWeightsAreNamed) {
  Parts no_ema;
  no_ema.omit = {"ema"};
  const auto path = write("no-ema.pt", no_ema);
  expect_load_fails(path, {"no 'ema' weights"});
  EXPECT_EQ(load_model(path, torch::kFloat32, /*ema=*/false).step, 20);  // the raw ones are there
  expect_resume_fails(path, {"not a training checkpoint (no 'ema' entry)"});
  Parts no_model;
  no_model.omit = {"model"};
  expect_resume_fails(write("no-model.pt", no_model), {"no 'model' entry"});
}

TEST_F(CheckpointLoaderTest, ALayerMissingOrExtraIsNamed) {
  Parts shallow;
  shallow.saved_depth = 1;
  const auto missing = write("shallow.pt", shallow);
  expect_load_fails(missing, {": ema has no 'blocks.1'", "another model kind or shape"});
  expect_resume_fails(missing, {": model has no 'blocks.1'"});
  Parts deep;
  deep.saved_depth = 3;
  expect_load_fails(write("deep.pt", deep),
                    {"has 'blocks.2', which the model the config describes lacks"});
}

TEST_F(CheckpointLoaderTest, TrainingStateBranchesAreNamed) {
  Parts no_optimizer;
  no_optimizer.omit = {"optimizer"};
  expect_resume_fails(write("no-optimizer.pt", no_optimizer),
                      {"not a training checkpoint (no 'optimizer' entry)"});
  Parts no_rng;
  no_rng.omit = {"rng"};
  expect_resume_fails(write("no-rng.pt", no_rng), {"no 'rng' entry"});
  Parts no_seed;
  no_seed.seed = std::nullopt;
  expect_resume_fails(write("no-seed.pt", no_seed), {"no integer 'rng.seed' entry"});
  Parts text_seed;
  text_seed.seed = text("5");
  expect_resume_fails(write("text-seed.pt", text_seed), {"no integer 'rng.seed' entry"});
  Parts other_seed;
  other_seed.seed = c10::IValue(std::int64_t{7});
  expect_resume_fails(write("seed.pt", other_seed),
                      {"written with seed 7, but the config's seed is 5"});
  Parts other_optimizer;
  other_optimizer.optimizer_of_one_tensor = true;
  expect_resume_fails(write("optimizer.pt", other_optimizer),
                      {"optimiser state does not fit the config's optimiser"});
}

TEST_F(CheckpointLoaderTest, ADamagedFileIsNamedByTheLibrary) {
  const auto path = write("good.pt", {});
  std::string bytes = read_bytes(path);
  const auto [middle, count] = record_data_at(bytes, bytes.size() / 2);
  ASSERT_GT(count, 0u);
  bytes[middle] ^= '\x01';  // one bit
  write_bytes(path, bytes);
  expect_load_fails(path, {"checkpoint ", kUnreadable, "fails its CRC-32 check"});
  expect_resume_fails(path, {kUnreadable});
  expect_input_error([&] { read_checkpoint_config(path); }, {path, kUnreadable});
  EXPECT_EQ(read_bytes(path), bytes);
  const auto text_file = dir_.write("notes.pt", "not a checkpoint\n");
  expect_load_fails(text_file, {"not a diffuse checkpoint (not a zip archive"});
}

// --- corrupt IDX files through the command line ------------------------------------------------

class IdxCli : public ::testing::Test {
 protected:
  static std::string big_endian(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
  }
  // A folder of 8 images of 4 x 4 and their labels, the images file changed by `change`.
  std::string folder(const std::string& name, const std::function<void(std::string&)>& change) {
    const std::string path = dir_.file(name);
    fs::create_directories(path);
    std::string images = big_endian(0x803) + big_endian(8) + big_endian(4) + big_endian(4);
    for (int i = 0; i < 8 * 16; ++i) images.push_back(static_cast<char>(i));
    change(images);
    std::string labels = big_endian(0x801) + big_endian(8);
    for (int i = 0; i < 8; ++i) labels.push_back(static_cast<char>(i % 2));
    write_bytes(path + "/train-images-idx3-ubyte", images);
    write_bytes(path + "/train-labels-idx1-ubyte", labels);
    return path;
  }
  std::string config(const std::string& data) {
    return dir_.write(fs::path(data).filename().string() + ".yaml",
                      "seed: 5\nprocess: {kind: vp-linear}\n"
                      "data: {kind: idx, path: '" + data + "'}\n"
                      "model: {kind: mlp, width: 32, depth: 2, embedding_dim: 16}\n"
                      "train: {steps: 4, batch_size: 4, lr: 0.002, warmup: 1, log_every: 2,\n"
                      "        checkpoint_every: 4, eval_size: 8, out: '" + dir_.file("run") +
                      "'}\n"
                      "sample: {num_samples: 4, out: '" + dir_.file("data/x.npy") + "'}\n");
  }
  // `train` and `data` on the folder: exit 2 naming the images file and `what`, nothing written.
  void expect_rejected(const std::string& data, const std::string& what) {
    const std::string yaml = config(data);
    for (const char* command : {"train", "data"}) {
      const auto r = run_diffuse(std::string(command) + " --config " + yaml);
      EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.output;
      expect_contains(r.output, "error: IDX file '" + data + "/train-images-idx3-ubyte': ");
      expect_contains(r.output, what);
      EXPECT_FALSE(fs::exists(dir_.file("run"))) << command;
      EXPECT_FALSE(fs::exists(dir_.file("data"))) << command;
    }
  }
  TempDir dir_;
};

TEST_F(IdxCli, AWholeFolderTrainsAndWrites) {
  // The baseline: the same folder unchanged is accepted by both commands.
  const std::string yaml = config(folder("whole", [](std::string&) {}));
  const auto t = run_diffuse("train --config " + yaml);
  EXPECT_EQ(t.exit_code, 0) << t.output;
  EXPECT_TRUE(fs::exists(dir_.file("run/checkpoint.pt")));
  const auto d = run_diffuse("data --config " + yaml);
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_EQ(load_npy(dir_.file("data/x.npy")).sizes(), (std::vector<std::int64_t>{4, 16}));
}

TEST_F(IdxCli, ATruncatedImagesFileIsNamed) {
  expect_rejected(folder("truncated", [](std::string& b) { b.resize(b.size() / 2); }),
                  "truncated: expected 128 bytes of 8 images of 4 x 4 pixels, found 56");
}

TEST_F(IdxCli, ABadMagicNumberIsNamed) {
  expect_rejected(folder("magic", [](std::string& b) { b[3] = '\x01'; }),
                  "bad magic number 0x00000801, expected 0x00000803");
}

// --- NaN or infinite rows in an input .npy -----------------------------------------------------

TEST(NonFiniteInputCli, EvalSamplesCountsNonFiniteRowsAndLeavesThemOut) {
  TempDir dir;
  const auto yaml = dir.write("ring.yaml", "seed: 5\ndata: {kind: ring8}\n");
  auto x = torch::randn({64, 2}, torch::kFloat64) * 2;
  x[3][0] = NAN;
  x[10][1] = INFINITY;
  save_npy(dir.file("some.npy"), x);
  const auto r = run_diffuse("eval --config " + yaml + " --samples " + dir.file("some.npy") +
                             " --results " + dir.file("some.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto record = last_json(r.output);
  EXPECT_EQ(record["count"], 64) << r.output;
  EXPECT_EQ(record["non_finite"], 2) << r.output;
  EXPECT_EQ(record["reference_count"], 62) << r.output;
  EXPECT_TRUE(std::isfinite(record["nll_per_dim"].get<double>())) << r.output;
  EXPECT_TRUE(std::isfinite(record["sliced_w2"].get<double>())) << r.output;

  save_npy(dir.file("none.npy"), torch::full({8, 2}, NAN, torch::kFloat64));
  const auto none = run_diffuse("eval --config " + yaml + " --samples " + dir.file("none.npy") +
                                " --results " + dir.file("none.jsonl"));
  EXPECT_EQ(none.exit_code, 2) << none.output;
  expect_contains(none.output, "fewer than 2 finite samples");
  EXPECT_FALSE(fs::exists(dir.file("none.jsonl")));
}

TEST(NonFiniteInputCli, FinetuneDataWithANaNRowIsAnInputError) {
  TempDir dir;
  const auto source =
      dir.write("s.yaml",
                "seed: 1\nprocess: {kind: vp-ou, t_min: 0.02, t_max: 3}\n"
                "data: {kind: shared-latent, dim: 8, subspace_dim: 2, num_components: 3, seed: 4,"
                " domain: source, angle: 30}\n"
                "model: {kind: subspace, rank: 2, latent: mlp, width: 16, depth: 1, "
                "embedding_dim: 8}\n"
                "train: {steps: 2, batch_size: 16, lr: 0.003, warmup: 1, log_every: 1,\n"
                "        checkpoint_every: 2, eval_size: 16, out: '" + dir.file("source") + "'}\n");
  const auto t = run_diffuse("train --config " + source);
  ASSERT_EQ(t.exit_code, 0) << t.output;
  auto target = torch::randn({16, 8});
  target[5][3] = NAN;
  save_npy(dir.file("target.npy"), target);
  const auto r = run_diffuse("finetune --from " + dir.file("source/checkpoint.pt") + " --data " +
                             dir.file("target.npy") + " --shots 8 --steps 2 -o " + dir.file("ft"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  expect_contains(r.output, dir.file("target.npy") + ": row 5 holds NaN or infinite values");
  expect_contains(r.output, "expected finite target samples");
  EXPECT_FALSE(fs::exists(dir.file("ft"))) << r.output;
}

// --- a temporary file left by a killed run -----------------------------------------------------

TEST(StaleTemporaryCli, TrainRemovesADeadRunsTemporaryAndKeepsALiveOnes) {
  TempDir dir;
  const std::string out = dir.file("run");
  fs::create_directories(out);
  const std::string stale = out + "/checkpoint.pt.tmp-" + std::to_string(dead_pid()) + "-0";
  const std::string live = out + "/checkpoint.pt.tmp-" + std::to_string(::getpid()) + "-3";
  write_bytes(stale, "junk a kill -9 left");
  write_bytes(live, "a concurrent writer's");
  const auto r = run_diffuse("train --config " + dir.write("run.yaml", tiny_ring_yaml(out)));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(read_bytes(live), "a concurrent writer's");
  EXPECT_TRUE(fs::exists(out + "/checkpoint.pt"));
}

}  // namespace
}  // namespace diffuse::testing
