#include "train/trainer/ema.h"

#include "core/base/errors.h"

#include <algorithm>

namespace diffuse {

Ema::Ema(NetworkModelPtr live, NetworkModelPtr shadow, double decay, bool warmup)
    : live_(std::move(live)), shadow_(std::move(shadow)), decay_(decay), warmup_(warmup) {
  require(live_ && shadow_, "Ema: missing network");
  live_params_ = live_->module()->parameters();
  shadow_params_ = shadow_->module()->parameters();
  require(live_params_.size() == shadow_params_.size(), "Ema: networks of different shapes");
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < live_params_.size(); ++i) {
    shadow_params_[i].copy_(live_params_[i]);
    shadow_params_[i].set_requires_grad(false);
  }
  const auto live_buffers = live_->module()->buffers();
  auto shadow_buffers = shadow_->module()->buffers();
  for (std::size_t i = 0; i < live_buffers.size(); ++i) shadow_buffers[i].copy_(live_buffers[i]);
}

void Ema::update(std::int64_t step) {
  const double n = static_cast<double>(step);
  const double d = warmup_ ? std::min(decay_, (1.0 + n) / (10.0 + n)) : decay_;
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < live_params_.size(); ++i)
    shadow_params_[i].mul_(d).add_(live_params_[i], 1.0 - d);
}

}  // namespace diffuse
