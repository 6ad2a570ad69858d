#include "core/data/batcher.h"

#include "core/base/errors.h"

#include <ATen/CPUGeneratorImpl.h>

namespace diffuse {

Batcher::Batcher(torch::Tensor data, torch::Tensor labels, BatcherOptions options)
    : options_(options), generator_(torch::make_generator<at::CPUGeneratorImpl>(options.seed)) {
  require(data.defined() && data.dim() >= 1, "Batcher: no data given");
  require(options_.batch_size >= 1,
          "Batcher: batch_size must be >= 1, got " + std::to_string(options_.batch_size));
  require(!labels.defined() || (labels.dim() == 1 && labels.size(0) == data.size(0)),
          "Batcher: " + std::to_string(data.size(0)) + " rows of data but labels of another size");
  require(data.size(0) >= 1, "Batcher: the data has no rows");
  // The one copy: the whole set to the training device.
  data_ = data.to(options_.device);
  if (labels.defined()) labels_ = labels.to(options_.device);
}

std::int64_t Batcher::batches_per_epoch() const {
  const auto n = size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void Batcher::start_epoch() {
  // Drawn on the CPU so the stream is the same on every device; n indices cross, not the data.
  order_ = torch::randperm(size(), generator_, torch::kInt64).to(options_.device);
  position_ = 0;
  ++epoch_;
}

std::int64_t Batcher::passes_per_batch() const {
  const auto n = size(), b = options_.batch_size;
  return options_.drop_last && n < b ? (b + n - 1) / n : 0;
}

Batch Batcher::next() {
  const auto b = options_.batch_size;
  if (const auto passes = passes_per_batch()) {
    std::vector<torch::Tensor> orders;
    for (std::int64_t k = 0; k < passes; ++k) {
      start_epoch();
      orders.push_back(order_);
    }
    position_ = size();
    ++drawn_;
    return gather(torch::cat(orders).slice(0, 0, b));
  }
  const bool exhausted = options_.drop_last ? position_ + b > size() : position_ >= size();
  if (!order_.defined() || exhausted) start_epoch();
  const auto index = order_.slice(0, position_, std::min(position_ + b, size()));
  position_ += index.size(0);
  ++drawn_;
  return gather(index);
}

Batch Batcher::gather(const torch::Tensor& index) const {
  Batch batch;
  batch.x = data_.index_select(0, index);
  if (labels_.defined()) batch.labels = labels_.index_select(0, index);
  return batch;
}

void Batcher::seek(std::int64_t batches) {
  require(batches >= 0, "Batcher::seek: batches must be >= 0");
  generator_ = torch::make_generator<at::CPUGeneratorImpl>(options_.seed);
  order_ = torch::Tensor();
  epoch_ = 0;
  drawn_ = 0;
  position_ = 0;
  if (batches == 0) return;
  if (const auto passes = passes_per_batch()) {
    for (std::int64_t e = 0; e < batches * passes; ++e) start_epoch();
    position_ = size();
    drawn_ = batches;
    return;
  }
  const auto per_epoch = batches_per_epoch();
  // Epochs fully consumed: draw (and drop) their permutations to advance the generator.
  const auto full = (batches - 1) / per_epoch;
  for (std::int64_t e = 0; e < full; ++e) start_epoch();
  start_epoch();
  position_ = (batches - full * per_epoch) * options_.batch_size;
  position_ = std::min(position_, size());
  drawn_ = batches;
}

}  // namespace diffuse
