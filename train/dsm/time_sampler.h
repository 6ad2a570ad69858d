// How a DSM loss draws training times t: uniform on [t_min, t_max] (the integral
// (1/(T - delta)) int_delta^T dt of the seed talk's objective; DDPM, flow matching), or
// log-normal in the noise level, log(sigma / alpha) ~ N(P_mean, P_std^2) (Karras et al. 2022,
// Sec. 5 "Training": P_mean = -1.2, P_std = 1.2), mapped to t through lambda's inverse.
//
//   TimeSampler times(process, "auto", -1.2, 1.2);   // auto: log-normal for edm, else uniform
//   torch::Tensor t = times.sample(512, generator);  // [512] float64 on the generator's device
#pragma once

#include "core/process/process.h"

#include <torch/torch.h>

#include <string>

namespace diffuse {

class TimeSampler {
 public:
  TimeSampler(ProcessPtr process, const std::string& kind, double p_mean, double p_std);

  // n times in [t_min, t_max], float64, on the generator's device.
  torch::Tensor sample(std::int64_t n, at::Generator generator) const;
  const std::string& kind() const { return kind_; }

 private:
  ProcessPtr process_;
  std::string kind_;  // uniform | log-normal
  double p_mean_, p_std_;
};

}  // namespace diffuse
