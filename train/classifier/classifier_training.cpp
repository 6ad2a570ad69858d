#include "train/classifier/classifier_training.h"

#include "core/base/errors.h"
#include "core/base/progress.h"
#include "core/data/batcher.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

namespace diffuse {

namespace {

void check_data(const ImageClassifier& net, const ImageDataset& data) {
  require(data.size() > 0, "classifier: no images in " + data.source);
  require(data.rows == kClassifierImageSide && data.cols == kClassifierImageSide,
          "classifier: images of " + data.source + " are " + std::to_string(data.rows) + "x" +
              std::to_string(data.cols) + ", expected 28x28 (MNIST format)");
  const auto lowest = data.labels.min().item<std::int64_t>();
  const auto highest = data.labels.max().item<std::int64_t>();
  require(lowest >= 0 && highest < net->options().classes,
          "classifier: labels of " + data.source + " range over [" + std::to_string(lowest) + ", " +
              std::to_string(highest) + "], expected [0, " +
              std::to_string(net->options().classes - 1) + "]");
}

}  // namespace

double classifier_step(ImageClassifier& net, torch::optim::Optimizer& optimizer,
                       const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();
  const auto loss = torch::nn::functional::cross_entropy(net->forward(images), labels);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

ClassifierTrainResult train_classifier(ImageClassifier& net, const ImageDataset& data,
                                       const ClassifierTraining& o) {
  require(o.epochs >= 1, "train-classifier: epochs must be >= 1, got " + std::to_string(o.epochs));
  require(o.lr > 0.0 && std::isfinite(o.lr),
          "train-classifier: lr must be a positive number, got " + std::to_string(o.lr));
  check_data(net, data);
  net->to(o.device);
  net->train();
  Batcher batcher(data.images, data.labels, {o.batch_size, o.seed, o.device, true});
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(o.lr));
  const std::int64_t per_epoch = batcher.batches_per_epoch();
  std::optional<Progress> progress;
  if (o.progress) progress.emplace("train-classifier", o.epochs * per_epoch, "batch");
  const auto start = std::chrono::steady_clock::now();
  ClassifierTrainResult result;
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    double sum = 0.0;
    for (std::int64_t b = 0; b < per_epoch; ++b) {
      const Batch batch = batcher.next();
      const double loss = classifier_step(net, adam, batch.x, batch.labels);
      if (!std::isfinite(loss))
        throw RuntimeFailure("train-classifier: the loss became " + std::to_string(loss) +
                             " at step " + std::to_string(result.steps) + " (lower --lr)");
      sum += loss;
      ++result.steps;
      if (progress) {
        char note[64];
        std::snprintf(note, sizeof note, "epoch %lld loss %.4f", static_cast<long long>(epoch + 1),
                      sum / static_cast<double>(b + 1));
        progress->set_note(note);
        progress->advance();
      }
    }
    result.last_epoch_loss = sum / static_cast<double>(per_epoch);
  }
  if (progress) progress->finish();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

double classifier_accuracy(ImageClassifier& net, const ImageDataset& data) {
  check_data(net, data);
  const auto predicted = classify(net, data.images).predictions;
  return (predicted == data.labels.cpu()).to(torch::kFloat64).mean().item<double>();
}

}  // namespace diffuse
