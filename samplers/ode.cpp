#include "samplers/ode.h"

#include "samplers/families.h"

namespace diffuse {

torch::Tensor ode_velocity(const Denoiser& denoiser, const torch::Tensor& x, double t) {
  const auto [x0, eps] = denoiser.predict(x, t);
  const auto& process = denoiser.process();
  return process.dalpha_dt(t) * x0 + process.dsigma_dt(t) * eps;
}

torch::Tensor heun_step(const Denoiser& denoiser, const torch::Tensor& x, double t,
                        double t_next) {
  const double h = t_next - t;
  const auto d = ode_velocity(denoiser, x, t);                  // Euler slope at t
  const auto x_euler = x + h * d;                               // predictor
  const auto d_next = ode_velocity(denoiser, x_euler, t_next);  // slope at the prediction
  return x + (0.5 * h) * (d + d_next);                          // trapezoidal corrector
}

torch::Tensor sample_ode_euler(const Denoiser& denoiser, torch::Tensor x,
                               const std::vector<double>& times, NoiseSource&,
                               const SamplerConfig&) {
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], t_next = times[i + 1];
    x = x + (t_next - t) * ode_velocity(denoiser, x, t);
  }
  return x;
}

torch::Tensor sample_ode_heun(const Denoiser& denoiser, torch::Tensor x,
                              const std::vector<double>& times, NoiseSource&,
                              const SamplerConfig&) {
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
