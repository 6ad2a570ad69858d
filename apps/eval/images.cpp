#include "apps/eval/images.h"

#include "core/base/errors.h"
#include "core/io/idx.h"
#include "core/io/npy.h"
#include "core/metrics/frechet.h"
#include "models/classifier_checkpoint.h"

#include <algorithm>

namespace diffuse {

namespace {

constexpr std::int64_t kMaxReferenceImages = 10000;

// The labels file as [n] int64 in [0, classes); InputError naming the file otherwise.
torch::Tensor load_labels(const std::string& path, std::int64_t count, std::int64_t classes) {
  auto labels = load_npy(path);
  if (labels.dim() == 2 && labels.size(1) == 1) labels = labels.reshape({-1});
  require_shape(labels, {count}, path + " (one class label per sample)");
  const auto as_double = labels.to(torch::kFloat64);
  require((as_double == as_double.round()).all().item<bool>(),
          path + ": labels must be whole numbers (class indices)");
  labels = labels.to(torch::kInt64);
  require(count == 0 || (labels.min().item<std::int64_t>() >= 0 &&
                         labels.max().item<std::int64_t>() < classes),
          path + ": labels must lie in [0, " + std::to_string(classes - 1) + "]");
  return labels;
}

}  // namespace

nlohmann::json evaluate_image_samples(const RunConfig& config, const torch::Device& device,
                                      const torch::Tensor& samples, const ImageEvalInputs& in) {
  const std::int64_t side = kClassifierImageSide, pixels = side * side;
  require(samples.dim() >= 2 && samples.numel() == samples.size(0) * pixels,
          in.samples_path + ": expected 28x28 images, shape [n, 784] or [n, 28, 28], got " +
              shape_string(samples.sizes().vec()));
  const auto all = samples.reshape({samples.size(0), pixels}).to(torch::kFloat32);
  const auto finite = torch::isfinite(all).all(1);
  // Clamped as a saved picture would show them: pixel values outside [-1, 1] do not exist.
  const auto x = all.index({finite}).clamp(-1.0, 1.0);
  const std::int64_t n = x.size(0);
  nlohmann::json out;
  out["count"] = all.size(0);
  out["non_finite"] = all.size(0) - n;
  out["dim"] = pixels;
  require(n >= 2, in.samples_path + ": fewer than 2 finite samples to evaluate");

  LoadedClassifier classifier = load_classifier(in.classifier_path, device);
  const std::int64_t classes = classifier.net->options().classes;
  const auto result = classify(classifier.net, x);
  const auto counts = torch::bincount(result.predictions, {}, classes).to(torch::kFloat64);
  const auto histogram = counts / static_cast<double>(n);
  out["classifier"] = in.classifier_path;
  out["class_histogram"] =
      std::vector<double>(histogram.data_ptr<double>(), histogram.data_ptr<double>() + classes);

  const DataConfig data = resolve_data_config(config.data);
  ImageDataset test = load_idx_dataset(*data.path, "test");
  if (!data.classes.empty()) test = select_classes(test, data.classes);
  const std::int64_t m = std::min({n, kMaxReferenceImages, test.size()});
  require(m >= 2, "eval: the test split of " + *data.path + " has fewer than 2 images");
  const auto real = classify(classifier.net, test.images.slice(0, 0, m)).features;
  out["frechet_distance"] = frechet_distance(result.features, real);
  out["frechet_reference_count"] = m;

  if (in.labels.defined() || !in.labels_path.empty()) {
    const auto labels = in.labels.defined()
                            ? in.labels.to(torch::kInt64).index({finite})
                            : load_labels(in.labels_path, all.size(0), classes).index({finite});
    out["accuracy"] = (result.predictions == labels).to(torch::kFloat64).mean().item<double>();
    if (!in.labels_path.empty()) out["labels"] = in.labels_path;
  }
  return out;
}

}  // namespace diffuse
