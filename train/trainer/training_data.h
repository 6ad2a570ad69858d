// Where training batches come from: synthetic data (mixtures, two-moons) drawn fresh
// every step, or a fixed data set (the idx images, or data_size > 0 synthetic samples) served by
// the seeded Batcher. Batch k depends only on (seed, k), so a resumed run sees the same batches.
//
//   TrainingData data(config.data, {.batch_size = 512, .data_size = 0, .seed = 7}, options);
//   Batch b = data.batch(step);   // b.x: [512, D] in options' dtype and device; b.labels: [512]
#pragma once

#include "core/data/batcher.h"
#include "core/data/mixture_config.h"
#include "core/math/mixture.h"
#include "train/trainer/step_rng.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

namespace diffuse {

struct TrainingDataOptions {
  std::int64_t batch_size = 512;
  std::int64_t data_size = 0;  // synthetic data: 0 = fresh samples every step
  std::uint64_t seed = 0;
};

class TrainingData {
 public:
  TrainingData(const DataConfig& data, const TrainingDataOptions& options,
               const torch::TensorOptions& tensor_options);

  // labels: the image classes (idx) or the mixture component of each row; undefined for data
  // without them (two-moons).
  Batch batch(std::int64_t step);
  // The largest label plus one (0: the data has no labels).
  std::int64_t label_count() const { return label_count_; }
  // n rows for evaluation and initialisation: fresh samples from `stream`, or n rows of the
  // fixed set chosen with it (all of them when n >= its size).
  torch::Tensor sample(std::int64_t n, RngStream stream);

  std::int64_t dim() const { return dim_; }
  std::string describe() const;

 private:
  Batch draw(std::int64_t n, at::Generator generator) const;  // synthetic kinds

  DataConfig data_;
  TrainingDataOptions options_;
  torch::TensorOptions tensor_options_;
  std::optional<GaussianMixture> mixture_;
  std::optional<Batcher> batcher_;
  torch::Tensor fixed_, fixed_labels_;  // the fixed set, [n, D] and [n] (or undefined)
  std::int64_t dim_ = 0;
  std::int64_t label_count_ = 0;
};

}  // namespace diffuse
