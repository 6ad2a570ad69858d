// An exponential moving average of a network's weights (Polyak & Juditsky 1992; the EMA of
// Ho et al. 2020 and Karras et al. 2022), kept in a second network of the same shape, so sampling,
// evaluation and checkpoints use it like any model. The decay is min(decay, (1 + n) / (10 + n))
// at update n (TensorFlow's ExponentialMovingAverage with num_updates): early averages are not
// dominated by the random initialisation in short runs. warmup = false uses `decay` from the
// first update (the target network of consistency distillation, Song et al. 2023: theta^- with mu).
//
//   Ema ema(model, make_network(...same config...), 0.999);
//   ema.update(step);                       // after each optimiser step
//   Denoiser denoiser(ema.model(), process);
#pragma once

#include "models/network.h"

#include <cstdint>
#include <vector>

namespace diffuse {

class Ema {
 public:
  // shadow: a network of the same config as `live`; it is set to live's weights.
  Ema(NetworkModelPtr live, NetworkModelPtr shadow, double decay, bool warmup = true);

  void update(std::int64_t step);
  const NetworkModelPtr& model() const { return shadow_; }
  double decay() const { return decay_; }

 private:
  NetworkModelPtr live_, shadow_;
  std::vector<torch::Tensor> live_params_, shadow_params_;
  double decay_;
  bool warmup_;
};

}  // namespace diffuse
