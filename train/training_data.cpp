#include "train/training_data.h"

#include "core/errors.h"
#include "core/runtime.h"

namespace diffuse {

TrainingData::TrainingData(const DataConfig& data, const TrainingDataOptions& options,
                           const torch::TensorOptions& tensor_options)
    : data_(resolve_data_config(data)), options_(options), tensor_options_(tensor_options) {
  if (data_.kind == "idx") {
    fixed_ = load_image_data(data_).images;
  } else {
    mixture_ = make_mixture(data_);
    if (options_.data_size > 0)
      fixed_ = draw(options_.data_size, step_generator(options_.seed, 0, RngStream::data,
                                                       torch::kCPU));
  }
  if (fixed_.defined()) {
    fixed_ = fixed_.reshape({fixed_.size(0), -1}).to(tensor_options_.dtype());
    dim_ = fixed_.size(1);
    batcher_.emplace(fixed_, BatcherOptions{options_.batch_size, options_.seed,
                                            tensor_options_.device(), /*drop_last=*/true});
  } else {
    dim_ = draw(1, make_generator(0)).size(1);
  }
}

torch::Tensor TrainingData::draw(std::int64_t n, at::Generator generator) const {
  if (mixture_) return mixture_->sample(n, generator).x;
  return sample_data(data_, n, generator);  // two-moons
}

torch::Tensor TrainingData::batch(std::int64_t step) {
  if (batcher_) {
    if (batcher_->batches_drawn() != step) batcher_->seek(step);
    return batcher_->next().x;
  }
  const auto generator = step_generator(options_.seed, step, RngStream::data, torch::kCPU);
  return draw(options_.batch_size, generator).to(tensor_options_);
}

torch::Tensor TrainingData::sample(std::int64_t n, RngStream stream) {
  auto generator = step_generator(options_.seed, 0, stream, torch::kCPU);
  if (!fixed_.defined()) return draw(n, generator).to(tensor_options_);
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
