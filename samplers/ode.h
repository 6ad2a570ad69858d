// Probability-flow ODE solvers written against the one forward-process picture: with
// x = alpha x0 + sigma eps, the ODE dx/dt = f x - g^2/2 score has velocity
// u(x, t) = alpha'(t) x0_hat + sigma'(t) eps_hat (Song et al. 2021, eq. 13; Karras et al. 2022).
//
// The steps take one time for the whole batch (a double: the samplers) or one per example
// ([B] float64 tensors: the teacher of consistency distillation, train/consistency/teacher_step.h).
#pragma once

#include "core/math/numerics.h"
#include "samplers/sampler.h"

namespace diffuse {

// The ODE velocity at (x, t) from one model evaluation.
torch::Tensor ode_velocity(const Denoiser& denoiser, const torch::Tensor& x, double t);
torch::Tensor ode_velocity(const Denoiser& denoiser, const torch::Tensor& x,
                           const torch::Tensor& t);

// The step t -> t_next as a factor of x: one number, or one per example broadcast over x.
inline double step_size(double t, double t_next, const torch::Tensor&) { return t_next - t; }
inline torch::Tensor step_size(const torch::Tensor& t, const torch::Tensor& t_next,
                               const torch::Tensor& x) {
  return per_sample(t_next - t, x);
}

// Euler: x + (t_next - t) u(x, t). One evaluation.
template <class Time>
torch::Tensor euler_step(const Denoiser& denoiser, const torch::Tensor& x, const Time& t,
                         const Time& t_next) {
  return x + step_size(t, t_next, x) * ode_velocity(denoiser, x, t);
}

// Heun (EDM Algorithm 1, lines 5-7): an Euler predictor, then the trapezoidal corrector with
// the velocity at the predicted point. Two evaluations.
template <class Time>
torch::Tensor heun_step(const Denoiser& denoiser, const torch::Tensor& x, const Time& t,
                        const Time& t_next) {
  const auto h = step_size(t, t_next, x);
  const auto d = ode_velocity(denoiser, x, t);                  // Euler slope at t
  const auto x_euler = x + h * d;                               // predictor
  const auto d_next = ode_velocity(denoiser, x_euler, t_next);  // slope at the prediction
  return x + (0.5 * h) * (d + d_next);                          // trapezoidal corrector
}

// Euler's method on the PF-ODE along the grid. NFE = K.
torch::Tensor sample_ode_euler(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               NoiseSource& noise);

// Heun's second-order method (EDM Algorithm 1 without churn). NFE = 2K.
torch::Tensor sample_ode_heun(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                              NoiseSource& noise);

}  // namespace diffuse
