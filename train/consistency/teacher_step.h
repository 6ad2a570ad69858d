// The teacher's move in consistency distillation (Song et al. 2023, Algorithm 2): one step of a
// probability-flow ODE solver from t_{n+1} to t_n with a time per example: the samplers' own
// steps (samplers/ode.h, samplers/dpm_solver.h), which take per-example times as well.
//
//   euler         x + (t - s) u(x, s)                                       1 evaluation
//   heun          Euler predictor, trapezoidal corrector (EDM Algorithm 1)  2 evaluations
//   dpm-solver-2  Lu et al. 2022, Algorithm 1 with r1 = 1/2, noise form     2 evaluations
//
// Each evaluation is one batched call of the teacher: every example is evaluated exactly once per
// evaluation (the Denoiser counts calls).
//
//   torch::Tensor x_n = teacher_ode_step("heun", teacher, x_next, t_next, t_n);
#pragma once

#include "models/denoiser.h"

#include <string>

namespace diffuse {

// x at per-example times s [B] -> x at t [B] (float64 times on x's device).
torch::Tensor teacher_ode_step(const std::string& solver, const Denoiser& teacher,
                               const torch::Tensor& x, const torch::Tensor& s,
                               const torch::Tensor& t);

// Teacher evaluations per step of a solver: euler 1, heun 2, dpm-solver-2 2.
int teacher_evaluations(const std::string& solver);

}  // namespace diffuse
