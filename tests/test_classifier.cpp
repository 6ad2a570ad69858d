// The image classifier: feature and logit shapes, a few Adam steps lowering the loss, learning
// ten synthetic classes, and checkpoints that round-trip and refuse other files.
#include "core/base/errors.h"
#include "models/classifier.h"
#include "models/classifier_checkpoint.h"
#include "tests/cli_runner.h"
#include "tests/synthetic_images.h"
#include "train/classifier/classifier_training.h"

#include <gtest/gtest.h>

#include <fstream>

namespace diffuse {
namespace {

using testing::as_dataset;
using testing::synthetic_images;

TEST(ClassifierTest, FeaturesAndLogitsHaveTheDocumentedShapes) {
  torch::manual_seed(0);
  ImageClassifier net;
  const auto flat = torch::rand({5, 784}) * 2 - 1;
  EXPECT_EQ(net->features(flat).sizes(), (std::vector<int64_t>{5, 128}));
  EXPECT_EQ(net->forward(flat).sizes(), (std::vector<int64_t>{5, 10}));
  // [n, 28, 28] gives the same as [n, 784].
  EXPECT_TRUE(torch::allclose(net->forward(flat.reshape({5, 28, 28})), net->forward(flat)));
  // Features follow a ReLU.
  EXPECT_GE(net->features(flat).min().item<float>(), 0.0f);
  ImageClassifier small(ClassifierOptions{4, 8, 16, 3});
  EXPECT_EQ(small->features(flat).size(1), 16);
  EXPECT_EQ(small->forward(flat).size(1), 3);
  EXPECT_THROW(net->forward(torch::zeros({5, 100})), InputError);

  const auto out = classify(net, flat, 2);  // three batches: 2 + 2 + 1
  EXPECT_EQ(out.features.sizes(), (std::vector<int64_t>{5, 128}));
  // Batched GEMMs may round differently from one batch of 5 (BLAS blocking depends on the size).
  EXPECT_TRUE(torch::allclose(out.features, net->features(flat), 1e-5, 1e-5));
  EXPECT_TRUE(out.predictions.equal(net->forward(flat).argmax(1)));
}

TEST(ClassifierTest, AdamStepsLowerTheLossOnATinySubset) {
  torch::manual_seed(1);
  ImageClassifier net;
  const auto data = as_dataset(synthetic_images(32, 2));
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  const double first = classifier_step(net, adam, data.images, data.labels);
  double last = first;
  for (int step = 0; step < 10; ++step) last = classifier_step(net, adam, data.images, data.labels);
  // Ten classes at random initialisation: the loss starts near log 10.
  EXPECT_NEAR(first, std::log(10.0), 0.3);
  EXPECT_LT(last, 0.8 * first);
}

TEST(ClassifierTest, LearnsTenSyntheticClasses) {
  torch::manual_seed(3);
  ImageClassifier net;
  const auto train = as_dataset(synthetic_images(500, 4));
  const auto test = as_dataset(synthetic_images(200, 5));
  ClassifierTraining options;
  options.epochs = 5;
  options.batch_size = 50;
  options.progress = false;
  const auto result = train_classifier(net, train, options);
  EXPECT_EQ(result.steps, 5 * 10);
  EXPECT_GT(classifier_accuracy(net, test), 0.95);
}

TEST(ClassifierTest, TrainingRejectsBadData) {
  ImageClassifier net;
  auto data = as_dataset(synthetic_images(20, 6));
  ClassifierTraining options;
  options.batch_size = 10;
  options.progress = false;
  auto bad_labels = data;
  bad_labels.labels = data.labels + 5;  // up to 14, beyond ten classes
  EXPECT_THROW(train_classifier(net, bad_labels, options), InputError);
  auto bad_size = data;
  bad_size.rows = bad_size.cols = 32;
  EXPECT_THROW(train_classifier(net, bad_size, options), InputError);
  options.lr = -1.0;
  EXPECT_THROW(train_classifier(net, data, options), InputError);
}

TEST(ClassifierTest, CheckpointRoundTripsAndRefusesOtherFiles) {
  testing::TempDir dir;
  torch::manual_seed(7);
  ImageClassifier net(ClassifierOptions{4, 8, 16, 10});
  const auto path = dir.file("sub/classifier.pt");
  save_classifier(path, net, {"synthetic", 2, 0.75});
  LoadedClassifier loaded = load_classifier(path);
  EXPECT_EQ(loaded.net->options().hidden, 16);
  EXPECT_EQ(loaded.record.data, "synthetic");
  EXPECT_EQ(loaded.record.epochs, 2);
  EXPECT_DOUBLE_EQ(loaded.record.test_accuracy, 0.75);
  const auto x = torch::rand({3, 784});
  EXPECT_TRUE(torch::equal(loaded.net->forward(x), net->forward(x)));

  EXPECT_THROW(load_classifier(dir.file("missing.pt")), InputError);
  EXPECT_THROW(load_classifier(dir.write("text.pt", "not a checkpoint")), InputError);
  // A torch archive of another kind (no classifier format entry).
  torch::serialize::OutputArchive other;
  other.write("format", c10::IValue(std::string("diffuse-checkpoint-1")));
  other.save_to(dir.file("other.pt"));
  try {
    load_classifier(dir.file("other.pt"));
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("diffuse-classifier-1"), std::string::npos) << e.what();
  }
  // Flipped bytes in the middle of the weights: rejected by the stored CRC-32, not loaded.
  auto bytes = testing::read_bytes(path);
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] ^= 0x5a;
  const auto damaged = dir.write("damaged.pt", bytes);
  try {
    load_classifier(damaged);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("classifier checkpoint"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace diffuse
