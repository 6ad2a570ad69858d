#include "models/classifier.h"

#include "core/base/errors.h"

namespace diffuse {

ImageClassifierImpl::ImageClassifierImpl(const ClassifierOptions& options) : options_(options) {
  require(options.channels1 >= 1 && options.channels2 >= 1 && options.hidden >= 1 &&
              options.classes >= 2,
          "classifier: channels and hidden must be >= 1 and classes >= 2");
  const auto conv = [](std::int64_t in, std::int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
  };
  conv1_ = register_module("conv1", conv(1, options.channels1));
  conv2_ = register_module("conv2", conv(options.channels1, options.channels2));
  // Two 2x2 poolings: 28 -> 14 -> 7.
  const std::int64_t side = kClassifierImageSide / 4;
  hidden_ =
      register_module("hidden", torch::nn::Linear(options.channels2 * side * side, options.hidden));
  output_ = register_module("output", torch::nn::Linear(options.hidden, options.classes));
}

torch::Tensor ImageClassifierImpl::features(const torch::Tensor& images) {
  const std::int64_t pixels = kClassifierImageSide * kClassifierImageSide;
  require(
      images.dim() >= 2 && images.numel() == images.size(0) * pixels,
      "classifier: expected 28x28 images ([n, 784] values), got shape " + c10::str(images.sizes()));
  auto h = images.reshape({images.size(0), 1, kClassifierImageSide, kClassifierImageSide});
  h = torch::max_pool2d(torch::relu(conv1_(h)), 2);
  h = torch::max_pool2d(torch::relu(conv2_(h)), 2);
  return torch::relu(hidden_(h.flatten(1)));
}

torch::Tensor ImageClassifierImpl::head(const torch::Tensor& features) { return output_(features); }

torch::Tensor ImageClassifierImpl::forward(const torch::Tensor& images) {
  return head(features(images));
}

ClassifierOutputs classify(ImageClassifier& net, const torch::Tensor& images,
                           std::int64_t batch_size) {
  require(batch_size >= 1, "classify: batch_size must be >= 1");
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  const auto parameter = net->parameters().front();
  std::vector<torch::Tensor> features, predictions;
  for (std::int64_t start = 0; start < images.size(0); start += batch_size) {
    const auto batch = images.slice(0, start, std::min(start + batch_size, images.size(0)))
                           .to(parameter.device(), parameter.scalar_type());
    const auto h = net->features(batch);
    features.push_back(h.cpu());
    predictions.push_back(net->head(h).argmax(1).cpu());
  }
  net->train(was_training);
  if (features.empty())
    return {torch::empty({0, net->options().hidden}), torch::empty({0}, torch::kInt64)};
  return {torch::cat(features), torch::cat(predictions)};
}

}  // namespace diffuse
