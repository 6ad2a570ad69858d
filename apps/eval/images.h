// `diffuse eval` for image data (data.kind: idx), measured through a trained classifier
// (`diffuse train-classifier`): the class histogram of the samples, the Frechet distance between
// the classifier's features of the samples and of real test images, and, given labels (say the
// classes a conditional model was asked for), the accuracy of the classifier against them.
#pragma once

#include "apps/run/run_config.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>

namespace diffuse {

struct ImageEvalInputs {
  std::string samples_path;     // for messages
  std::string classifier_path;  // a train-classifier checkpoint
  std::string labels_path;      // optional .npy of [n] class labels, one per sample
  torch::Tensor labels;         // or the labels themselves ([n] int64), e.g. those just sampled
};

// samples: the loaded .npy, [n, 784], [n, 28, 28] or [n, 1, 28, 28]. The real images are the
// first min(n, 10000) of the test split of data.path (restricted to data.classes when given).
// InputError for samples of another shape, unreadable files or labels that do not fit.
nlohmann::json evaluate_image_samples(const RunConfig& config, const torch::Device& device,
                                      const torch::Tensor& samples, const ImageEvalInputs& inputs);

}  // namespace diffuse
