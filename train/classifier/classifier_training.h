// Training the image classifier of models/classifier.h by cross-entropy with Adam on shuffled
// mini-batches (core/data/batcher.h), and its accuracy on a labelled set.
//
//   ImageClassifier net;   // after torch::manual_seed(seed): the initial weights
//   ClassifierTrainResult r = train_classifier(net, train_set, {.epochs = 3});
//   double accuracy = classifier_accuracy(net, test_set);
#pragma once

#include "core/io/idx.h"
#include "models/classifier.h"

#include <torch/torch.h>

#include <cstdint>

namespace diffuse {

struct ClassifierTraining {
  std::int64_t epochs = 3;
  std::int64_t batch_size = 64;
  double lr = 1e-3;
  std::uint64_t seed = 0;  // the batch order
  torch::Device device = torch::kCPU;
  bool progress = true;  // a progress line on stderr (core/base/progress.h)
};

struct ClassifierTrainResult {
  std::int64_t steps = 0;
  double last_epoch_loss = 0.0;  // mean cross-entropy over the last epoch's batches
  double seconds = 0.0;
};

// One Adam step on a batch; returns the batch's cross-entropy (before the step).
double classifier_step(ImageClassifier& net, torch::optim::Optimizer& optimizer,
                       const torch::Tensor& images, const torch::Tensor& labels);

// InputError for images that are not 28x28, labels outside [0, classes), a set smaller than one
// batch, or a bad option; RuntimeFailure when the loss becomes NaN.
ClassifierTrainResult train_classifier(ImageClassifier& net, const ImageDataset& data,
                                       const ClassifierTraining& options);

// Share of images whose predicted class equals the label.
double classifier_accuracy(ImageClassifier& net, const ImageDataset& data);

}  // namespace diffuse
