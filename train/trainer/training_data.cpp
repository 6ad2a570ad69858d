#include "train/trainer/training_data.h"

#include "core/base/errors.h"
#include "core/base/runtime.h"

namespace diffuse {

TrainingData::TrainingData(const DataConfig& data, const TrainingDataOptions& options,
                           const torch::TensorOptions& tensor_options)
    : data_(resolve_data_config(data)), options_(options), tensor_options_(tensor_options) {
  if (data_.kind == "idx") {
    auto images = load_image_data(data_);
    fixed_ = images.images;
    fixed_labels_ = images.labels;
  } else {
    mixture_ = make_mixture(data_);
    if (mixture_) label_count_ = static_cast<std::int64_t>(mixture_->components().size());
    if (options_.data_size > 0) {
      auto set = draw(options_.data_size,
                      step_generator(options_.seed, 0, RngStream::data, torch::kCPU));
      fixed_ = set.x;
      fixed_labels_ = set.labels;
    }
  }
  if (fixed_.defined()) {
    fixed_ = fixed_.reshape({fixed_.size(0), -1}).to(tensor_options_.dtype());
    dim_ = fixed_.size(1);
    if (fixed_labels_.defined() && fixed_labels_.numel() > 0)
      label_count_ = std::max(label_count_, fixed_labels_.max().item<std::int64_t>() + 1);
    batcher_.emplace(fixed_, fixed_labels_,
                     BatcherOptions{options_.batch_size, options_.seed, tensor_options_.device(),
                                    /*drop_last=*/true});
  } else {
    dim_ = draw(1, make_generator(0)).x.size(1);
  }
}

Batch TrainingData::draw(std::int64_t n, at::Generator generator) const {
  if (mixture_) {
    auto sample = mixture_->sample(n, generator);
    return {sample.x, sample.labels};
  }
  return {sample_data(data_, n, generator), torch::Tensor()};  // two-moons
}

Batch TrainingData::batch(std::int64_t step) {
  if (batcher_) {
    if (batcher_->batches_drawn() != step) batcher_->seek(step);
    return batcher_->next();
  }
  const auto generator = step_generator(options_.seed, step, RngStream::data, torch::kCPU);
  auto batch = draw(options_.batch_size, generator);
  batch.x = batch.x.to(tensor_options_);
  if (batch.labels.defined()) batch.labels = batch.labels.to(tensor_options_.device());
  return batch;
}

torch::Tensor TrainingData::sample(std::int64_t n, RngStream stream) {
  auto generator = step_generator(options_.seed, 0, stream, torch::kCPU);
  if (!fixed_.defined()) return draw(n, generator).x.to(tensor_options_);
  if (n >= fixed_.size(0)) return fixed_.to(tensor_options_);
  const auto rows = torch::randperm(fixed_.size(0), generator, torch::kInt64).narrow(0, 0, n);
  return fixed_.index_select(0, rows).to(tensor_options_);
}

std::string TrainingData::describe() const {
  std::string text = "data " + data_.kind + " (" + std::to_string(dim_) + " dimensions, ";
  if (fixed_.defined()) return text + "a fixed set of " + std::to_string(fixed_.size(0)) + ")";
  return text + "fresh samples every step)";
}

}  // namespace diffuse
