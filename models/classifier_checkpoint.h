// Classifier checkpoints (`diffuse train-classifier` writes them, `diffuse eval --classifier`
// reads them): one torch::serialize archive holding
//   format "diffuse-classifier-1"   channels1, channels2, hidden, classes (the architecture)
//   model  the weights              data, epochs, test_accuracy (how it was trained)
// serialised in memory and written atomically (core/io/atomic_file.h), never half-written.
//
//   save_classifier("runs/classifier/classifier.pt", net, {"fashion-mnist", 3, 0.905});
//   LoadedClassifier loaded = load_classifier(path);   // loaded.net is in eval mode
#pragma once

#include "models/classifier.h"

#include <string>

namespace diffuse {

inline constexpr const char* kClassifierFormat = "diffuse-classifier-1";

struct ClassifierRecord {
  std::string data;  // where the training images came from
  std::int64_t epochs = 0;
  double test_accuracy = 0.0;  // on the data's test split
};

void save_classifier(const std::string& path, const ImageClassifier& net,
                     const ClassifierRecord& record);

struct LoadedClassifier {
  ImageClassifier net{nullptr};
  ClassifierRecord record;
};

// InputError for a missing file or one that is not a classifier checkpoint (e.g. a score
// network's checkpoint), naming the path and what was expected.
LoadedClassifier load_classifier(const std::string& path,
                                 const torch::Device& device = torch::kCPU);

}  // namespace diffuse
