#include "samplers/ode.h"

#include "samplers/families.h"

namespace diffuse {

torch::Tensor ode_velocity(const Denoiser& denoiser, const torch::Tensor& x, double t) {
  const auto [x0, eps] = denoiser.predict(x, t);
  const auto& process = denoiser.process();
  return process.dalpha_dt(t) * x0 + process.dsigma_dt(t) * eps;
}

torch::Tensor ode_velocity(const Denoiser& denoiser, const torch::Tensor& x,
                           const torch::Tensor& t) {
  const auto [x0, eps] = denoiser.predict(x, t);
  const auto c = coefficients_at(denoiser.process(), t, x);
  return c.dalpha_dt * x0 + c.dsigma_dt * eps;
}

torch::Tensor sample_ode_euler(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               NoiseSource&) {
  for (std::size_t i = 0; i + 1 < times.size(); ++i)
    x = euler_step(denoiser, x, times[i], times[i + 1]);
  return x;
}

torch::Tensor sample_ode_heun(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                              NoiseSource&) {
  for (std::size_t i = 0; i + 1 < times.size(); ++i)
    x = heun_step(denoiser, x, times[i], times[i + 1]);
  return x;
}

std::vector<SamplerInfo> ode_samplers() {
  return {
      {"euler", "probability-flow ODE, Euler's method (Song et al. 2021)", 1, false,
       evaluations_per_step(1), {}, sample_ode_euler},
      {"heun", "probability-flow ODE, Heun's method (Karras et al. 2022, Algorithm 1)", 2, false,
       evaluations_per_step(2), {}, sample_ode_heun},
  };
}

}  // namespace diffuse
