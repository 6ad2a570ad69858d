// A small CNN for 28x28 grey images (MNIST format), the feature extractor of the image metrics
// of `diffuse eval` (class histogram, Frechet distance, accuracy against given labels):
//
//   [n, 784] in [-1, 1] -> conv 3x3 (c1) -> ReLU -> max-pool 2 -> conv 3x3 (c2) -> ReLU
//   -> max-pool 2 -> flatten (c2 * 7 * 7) -> linear (hidden) -> ReLU = features -> linear (10)
//
//   ImageClassifier net(ClassifierOptions{});
//   torch::Tensor logits = net->forward(images);           // [n, 10]
//   ClassifierOutputs out = classify(net, images);         // features [n, 128], predictions [n]
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace diffuse {

inline constexpr std::int64_t kClassifierImageSide = 28;

struct ClassifierOptions {
  std::int64_t channels1 = 16;  // first convolution's output channels
  std::int64_t channels2 = 32;  // second convolution's
  std::int64_t hidden = 128;    // the feature layer's width
  std::int64_t classes = 10;
};

class ImageClassifierImpl : public torch::nn::Module {
 public:
  explicit ImageClassifierImpl(const ClassifierOptions& options = {});

  // images: [n, 784] or [n, 28, 28] or [n, 1, 28, 28]; InputError for another size.
  torch::Tensor features(const torch::Tensor& images);  // [n, hidden], after the ReLU
  torch::Tensor head(const torch::Tensor& features);    // features -> logits [n, classes]
  torch::Tensor forward(const torch::Tensor& images);   // head(features(images))

  const ClassifierOptions& options() const { return options_; }

 private:
  ClassifierOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear hidden_{nullptr}, output_{nullptr};
};
TORCH_MODULE(ImageClassifier);

struct ClassifierOutputs {
  torch::Tensor features;     // [n, hidden] float32, CPU
  torch::Tensor predictions;  // [n] int64, CPU: the most likely class
};

// Features and predicted classes of many images in batches, without gradients and in eval
// mode (the mode is restored afterwards). Images are moved to the network's device per batch.
ClassifierOutputs classify(ImageClassifier& net, const torch::Tensor& images,
                           std::int64_t batch_size = 1000);

}  // namespace diffuse
