// `diffuse train-classifier` and the metrics `diffuse eval` gained, end to end:
// kNN KL and subspace distance on exact mixture samples, the image metrics through a classifier
// trained on synthetic MNIST-format files, --results, and the refusals of bad input.
#include "core/base/config.h"
#include "core/data/mixture_config.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "tests/cli_runner.h"
#include "tests/synthetic_images.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <filesystem>
#include <sstream>

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

// n exact samples of a data kind, written to `path`.
void write_exact_samples(const std::string& yaml, std::int64_t n, const std::string& path,
                         double shift = 0.0) {
  const auto data = config::load<DataConfig>(YAML::Load(yaml), "data");
  const auto gen = torch::make_generator<at::CPUGeneratorImpl>(17);
  save_npy(path, make_mixture(data)->sample(n, gen).x + shift);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CliEvalMetricsTest, KnnKlOfExactSamplesIsNearZeroAndGrowsWithAShift) {
  TempDir dir;
  const auto config = dir.write("ring.yaml", "data: {kind: ring8}\n");
  write_exact_samples("{kind: ring8}", 4000, dir.file("exact.npy"));
  write_exact_samples("{kind: ring8}", 4000, dir.file("shifted.npy"), 1.0);
  const auto exact = run_diffuse("eval --config " + config + " --samples " + dir.file("exact.npy"));
  ASSERT_EQ(exact.exit_code, 0) << exact.output;
  const auto record = last_json(exact.output);
  EXPECT_NEAR(record["knn_kl"].get<double>(), 0.0, 0.1) << record;
  // The keys other scripts parse are still there, and the ring has no subspaces.
  for (const char* key : {"count", "sliced_w2", "mmd2", "nll_per_dim", "mode_coverage"})
    EXPECT_TRUE(record.contains(key)) << key;
  EXPECT_FALSE(record.contains("subspace_distance"));
  const auto shifted =
      run_diffuse("eval --config " + config + " --samples " + dir.file("shifted.npy"));
  ASSERT_EQ(shifted.exit_code, 0) << shifted.output;
  // Each mode moved by 1 with std 0.3 while modes are ~3 apart: KL near |shift|^2 / (2 * 0.09).
  EXPECT_GT(last_json(shifted.output)["knn_kl"].get<double>(), 2.0);
}

TEST(CliEvalMetricsTest, LowDimensionalSamplesSitAtTheNoiseFloorAndResultsAppend) {
  TempDir dir;
  const auto config = dir.write("low.yaml", "data: {kind: lowdim}\n");
  write_exact_samples("{kind: lowdim}", 4000, dir.file("x.npy"));
  const std::string command = "eval --config " + config + " --samples " + dir.file("x.npy") +
                              " --results " + dir.file("out/results.jsonl");
  const auto first = run_diffuse(command);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto record = last_json(first.output);
  // lowdim: one 2-D subspace of R^16, floor 1e-4: distance 0.01 |z|, z ~ N(0, I_14), whose mean
  // is sqrt(2) Gamma(7.5) / Gamma(7).
  const double chi_mean = std::sqrt(2.0) * std::exp(std::lgamma(7.5) - std::lgamma(7.0));
  EXPECT_NEAR(record["subspace_distance"].get<double>(), 0.01 * chi_mean, 0.002);
  EXPECT_FALSE(record.contains("knn_kl"));  // dimension 16 > 8
  ASSERT_EQ(run_diffuse(command).exit_code, 0);
  const auto lines = read_jsonl(dir.file("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], record);
}

TEST(CliEvalMetricsTest, TrainClassifierRejectsAMissingFolderAndBadOptions) {
  TempDir dir;
  const auto missing =
      run_diffuse("train-classifier --data /nonexistent/images -o " + dir.file("c.pt"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_TRUE(contains(missing.output, "/nonexistent/images")) << missing.output;
  EXPECT_FALSE(fs::exists(dir.file("c.pt")));
  const auto epochs = run_diffuse("train-classifier --epochs 0");
  EXPECT_EQ(epochs.exit_code, 2);
  EXPECT_TRUE(contains(epochs.output, "--epochs")) << epochs.output;
  const auto typo = run_diffuse("train-classifier --epochs many");
  EXPECT_EQ(typo.exit_code, 2) << typo.output;
  write_idx_folder(dir.path() / "images", synthetic_images(40, 1), synthetic_images(20, 2));
  const auto lr = run_diffuse("train-classifier --data " + dir.file("images") +
                              " --batch-size 10 --lr -1 -o " + dir.file("c.pt"));
  EXPECT_EQ(lr.exit_code, 2) << lr.output;
  EXPECT_TRUE(contains(lr.output, "lr")) << lr.output;
  EXPECT_FALSE(fs::exists(dir.file("c.pt")));
}

TEST(CliEvalMetricsTest, ClassifierTrainsAndMeasuresImageSamples) {
  TempDir dir;
  const auto folder = dir.path() / "images";
  const auto test = synthetic_images(100, 4);
  write_idx_folder(folder, synthetic_images(400, 3), test);
  const auto classifier = dir.file("run/classifier.pt");
  const auto trained = run_diffuse("train-classifier --data " + folder.string() +
                                   " --epochs 5 --batch-size 40 -o " + classifier);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto summary = last_json(trained.output);
  EXPECT_GT(summary["test_accuracy"].get<double>(), 0.9) << summary;
  EXPECT_EQ(summary["test_count"], 100);

  // The samples are the test images themselves: the Frechet distance to the test images is 0
  // and the accuracy against their labels is the test accuracy.
  const auto config = dir.write("img.yaml", "data: {kind: idx, path: " + folder.string() + "}\n");
  const auto data = as_dataset(test);
  save_npy(dir.file("real.npy"), data.images);
  save_npy(dir.file("labels.npy"), data.labels.to(torch::kFloat32));
  const std::string eval = "eval --config " + config + " --classifier " + classifier;
  const auto same = run_diffuse(eval + " --samples " + dir.file("real.npy") + " --labels " +
                                dir.file("labels.npy"));
  ASSERT_EQ(same.exit_code, 0) << same.output;
  const auto record = last_json(same.output);
  EXPECT_NEAR(record["frechet_distance"].get<double>(), 0.0, 1e-6) << record;
  EXPECT_EQ(record["frechet_reference_count"], 100);
  EXPECT_DOUBLE_EQ(record["accuracy"].get<double>(), summary["test_accuracy"].get<double>());
  const auto histogram = record["class_histogram"].get<std::vector<double>>();
  ASSERT_EQ(histogram.size(), 10u);
  double total = 0.0;
  for (double h : histogram) total += h;
  EXPECT_NEAR(total, 1.0, 1e-12);
  // Ten equally frequent classes, nearly all recognised.
  for (double h : histogram) EXPECT_NEAR(h, 0.1, 0.05);

  // Noisy images are farther away.
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(9);
  save_npy(dir.file("noisy.npy"), data.images + 0.5 * torch::randn(data.images.sizes(), gen));
  const auto noisy = run_diffuse(eval + " --samples " + dir.file("noisy.npy"));
  ASSERT_EQ(noisy.exit_code, 0) << noisy.output;
  EXPECT_GT(last_json(noisy.output)["frechet_distance"].get<double>(), 0.01);
  EXPECT_FALSE(last_json(noisy.output).contains("accuracy"));

  // Refusals: no classifier, labels of the wrong length, a file that is no classifier,
  // samples that are not 28x28 images, a classifier for mixture data.
  const auto none = run_diffuse("eval --config " + config + " --samples " + dir.file("real.npy"));
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(contains(none.output, "--classifier")) << none.output;
  save_npy(dir.file("short.npy"), torch::zeros({7}));
  const auto labels = run_diffuse(eval + " --samples " + dir.file("real.npy") + " --labels " +
                                  dir.file("short.npy"));
  EXPECT_EQ(labels.exit_code, 2);
  EXPECT_TRUE(contains(labels.output, "short.npy")) << labels.output;
  const auto wrong = run_diffuse("eval --config " + config + " --samples " + dir.file("real.npy") +
                                 " --classifier " + dir.file("real.npy"));
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  save_npy(dir.file("flat.npy"), torch::zeros({5, 100}));
  const auto shape = run_diffuse(eval + " --samples " + dir.file("flat.npy"));
  EXPECT_EQ(shape.exit_code, 2);
  EXPECT_TRUE(contains(shape.output, "28x28")) << shape.output;
  const auto ring = run_diffuse("eval --set data.kind=ring8 --samples " + dir.file("flat.npy") +
                                " --classifier " + classifier);
  EXPECT_EQ(ring.exit_code, 2);
  EXPECT_TRUE(contains(ring.output, "image data")) << ring.output;
}

TEST(CliEvalMetricsTest, ACheckpointIsMeasuredOnHeldOutImagesButNotOnOtherData) {
  // `eval --model` may pick other images of the set the network was trained on (split,
  // per_class): the held-out DSM loss of the estimation-error measurements. Anything else of
  // `data` still comes from the checkpoint.
  TempDir dir;
  const auto folder = dir.path() / "images";
  write_idx_folder(folder, synthetic_images(40, 3), synthetic_images(40, 4));
  const auto config = dir.write(
      "run.yaml", "seed: 5\nprocess: {kind: vp-linear}\ndata: {kind: idx, path: '" +
                      folder.string() + "', per_class: 2}\n"
                      "model: {kind: mlp, width: 32, depth: 2, embedding_dim: 16}\n"
                      "train: {steps: 4, batch_size: 8, warmup: 1, checkpoint_every: 4, "
                      "eval_size: 0, out: '" + dir.file("run") + "'}\n");
  ASSERT_EQ(run_diffuse("train --config " + config).exit_code, 0);
  const std::string eval = "eval --model " + dir.file("run/checkpoint.pt") + " --num-draws 256";
  const auto loss = [&](const std::string& settings) {
    const auto r = run_diffuse(eval + settings);
    EXPECT_EQ(r.exit_code, 0) << settings << "\n" << r.output;
    return r.exit_code == 0 ? last_json(r.output)["dsm_loss"].get<double>() : NAN;
  };
  // The same draws on the same images give the same loss; other images another one.
  const double trained_on = loss("");
  EXPECT_EQ(loss(" --set data.split=train --set data.per_class=2"), trained_on);
  const double held_out = loss(" --set data.split=test");
  EXPECT_NE(held_out, trained_on);
  EXPECT_NE(loss(" --set data.split=test --set data.per_class=1"), held_out);
  for (const char* other : {" --set data.classes=[3]", " --set data.path=/elsewhere"}) {
    const auto r = run_diffuse(eval + other);
    EXPECT_EQ(r.exit_code, 2) << other << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "data comes from the checkpoint")) << r.output;
    EXPECT_TRUE(contains(r.output, "except data.split and data.per_class")) << r.output;
  }
}

TEST(CliEvalMetricsTest, HeldOutLossFallsWithTheTrainingSetSize) {
  // The direction of the model-class measurement on images (results/model_classes), on a small
  // instance: the same network trained on 1 and on 30 images per class of the synthetic bars;
  // the DSM loss on held-out images (the same draws for both) is lower for the larger set.
  TempDir dir;
  const auto folder = dir.path() / "images";
  write_idx_folder(folder, synthetic_images(300, 3), synthetic_images(200, 4));
  const auto held_out_loss = [&](int per_class) {
    const std::string out = dir.file("run" + std::to_string(per_class));
    const auto config = dir.write(
        "run" + std::to_string(per_class) + ".yaml",
        "seed: 5\nprocess: {kind: vp-linear}\ndata: {kind: idx, path: '" + folder.string() +
            "', per_class: " + std::to_string(per_class) + "}\n"
            "model: {kind: mlp, width: 128, depth: 2, embedding_dim: 16}\n"
            "train: {steps: 400, batch_size: 64, lr: 0.002, warmup: 20, checkpoint_every: 400, "
            "log_every: 400, eval_size: 0, out: '" + out + "'}\n");
    const auto trained = run_diffuse("train --config " + config);
    EXPECT_EQ(trained.exit_code, 0) << trained.output;
    const auto r = run_diffuse("eval --model " + out + "/checkpoint.pt --num-draws 4096 " +
                               "--set data.split=test --set data.per_class=20");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.exit_code == 0 ? last_json(r.output)["dsm_loss"].get<double>() : NAN;
  };
  const double few = held_out_loss(1), many = held_out_loss(30);
  std::cout << "[measured] held-out DSM loss: 10 images " << few << ", 300 images " << many
            << "\n";
  EXPECT_GT(few, 1.2 * many);
}

}  // namespace
}  // namespace diffuse::testing
