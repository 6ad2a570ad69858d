// Shuffled mini-batches for training: the data set is moved to the training device once;
// each epoch draws a permutation with a seeded CPU generator and gathers batches with
// index_select, so no epoch copies the whole set. Batches depend only on the seed (not on the
// device), and seek() replays the stream for a resumed run.
//
//   Batcher batcher(dataset.images, dataset.labels, {.batch_size = 128, .seed = 7,
//                                                    .device = torch::kCUDA});
//   for (int step = 0; step < steps; ++step) {
//     Batch batch = batcher.next();             // batch.x: [128, 784], batch.labels: [128]
//   }
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace diffuse {

struct BatcherOptions {
  std::int64_t batch_size = 256;
  std::uint64_t seed = 0;
  torch::Device device = torch::kCPU;
  // Drop each epoch's last partial batch, so every batch has batch_size rows (steady shapes
  // for CUDA graphs and a per-step loss that is comparable). A set smaller than one batch then
  // fills each batch with whole passes over it, each in a fresh order (every row k or k + 1
  // times), so the draws per step, and the training budget, do not depend on the set's size.
  bool drop_last = true;
};

struct Batch {
  torch::Tensor x;       // [b, ...] rows of the data
  torch::Tensor labels;  // [b] or undefined when the data has no labels
};

class Batcher {
 public:
  // data: [n, ...]; labels: [n] or undefined. InputError when the sizes disagree or n = 0.
  Batcher(torch::Tensor data, torch::Tensor labels, BatcherOptions options);
  explicit Batcher(torch::Tensor data, BatcherOptions options)
      : Batcher(std::move(data), torch::Tensor(), options) {}

  Batch next();

  // Restart the stream as if `batches` batches had been drawn since construction.
  void seek(std::int64_t batches);

  std::int64_t size() const { return data_.size(0); }
  std::int64_t batches_per_epoch() const;
  std::int64_t epoch() const { return epoch_; }  // epochs begun so far
  std::int64_t batches_drawn() const { return drawn_; }
  const BatcherOptions& options() const { return options_; }

 private:
  void start_epoch();
  // Whole passes per batch for a set smaller than one batch (drop_last); 0 otherwise.
  std::int64_t passes_per_batch() const;
  Batch gather(const torch::Tensor& index) const;

  torch::Tensor data_, labels_;
  BatcherOptions options_;
  at::Generator generator_;
  torch::Tensor order_;  // this epoch's permutation, on the device
  std::int64_t position_ = 0;
  std::int64_t epoch_ = 0;
  std::int64_t drawn_ = 0;
};

}  // namespace diffuse
