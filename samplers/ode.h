// Probability-flow ODE solvers written against the one forward-process picture: with
// x = alpha x0 + sigma eps, the ODE dx/dt = f x - g^2/2 score has velocity
// u(x, t) = alpha'(t) x0_hat + sigma'(t) eps_hat (Song et al. 2021, eq. 13; Karras et al. 2022).
#pragma once

#include "samplers/sampler.h"

namespace diffuse {

// The ODE velocity at (x, t) from one model evaluation.
torch::Tensor ode_velocity(const Denoiser& denoiser, const torch::Tensor& x, double t);

// One Heun step from (x, t) to t_next: an Euler predictor, then the trapezoidal corrector with
// the velocity at the predicted point. Two evaluations.
torch::Tensor heun_step(const Denoiser& denoiser, const torch::Tensor& x, double t, double t_next);

// Euler's method on the PF-ODE: x_{i+1} = x_i + (t_{i+1} - t_i) u(x_i, t_i). NFE = K.
torch::Tensor sample_ode_euler(const Denoiser& denoiser, torch::Tensor x,
                               const std::vector<double>& times, NoiseSource& noise,
                               const SamplerConfig& config);

// Heun's second-order method (EDM Algorithm 1 without churn): an Euler predictor, then the
// trapezoidal corrector with the velocity at the predicted point. NFE = 2K.
torch::Tensor sample_ode_heun(const Denoiser& denoiser, torch::Tensor x,
                              const std::vector<double>& times, NoiseSource& noise,
                              const SamplerConfig& config);

}  // namespace diffuse
