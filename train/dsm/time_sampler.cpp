#include "train/dsm/time_sampler.h"

#include "core/base/errors.h"

namespace diffuse {

TimeSampler::TimeSampler(ProcessPtr process, const std::string& kind, double p_mean,
                         double p_std)
    : process_(std::move(process)), kind_(kind), p_mean_(p_mean), p_std_(p_std) {
  if (kind_ == "auto") kind_ = process_->name() == "edm" ? "log-normal" : "uniform";
  require(kind_ == "uniform" || kind_ == "log-normal",
          "train.t_sampling = '" + kind + "': expected auto, uniform or log-normal");
}

torch::Tensor TimeSampler::sample(std::int64_t n, at::Generator generator) const {
  const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(generator.device());
  const double t_min = process_->t_min(), t_max = process_->t_max();
  if (kind_ == "uniform") return t_min + (t_max - t_min) * torch::rand({n}, generator, options);
  // log(sigma / alpha) = -lambda ~ N(P_mean, P_std^2); clamped because the network and the
  // process are only defined on [t_min, t_max] (EDM's own range is [0.002, 80]).
  const auto log_noise = p_mean_ + p_std_ * torch::randn({n}, generator, options);
  return process_->t_of_lambda(-log_noise).clamp(t_min, t_max);
}

}  // namespace diffuse
