// Adaptive Dormand-Prince RK5(4) on the probability-flow ODE, integrated in lambda: the
// ground-truth map x_T -> x_0 other samplers' errors are measured against.
//
// Variable: y = x / alpha (EDM's scaled variable; x / alpha = x_0 + exp(-lambda) eps). With
// s = exp(-lambda) the ODE is dy/ds = eps_hat, so in lambda it reads
//   dy/dlambda = -exp(-lambda) eps_hat = x0_hat(alpha y, t(lambda)) - y,
// one model evaluation per stage and no derivative of the schedule. lambda spans a few units
// for every process and the right-hand side's Lipschitz constant stays near 1 there for
// well-behaved data, so the controller sees a smooth, non-stiff problem.
//
// Every sample has its own step size, so sample i's map depends on x_T[i] alone (batch-invariant
// like every row; a batch-wide step would couple the samples at the level of the tolerance).
// All samples share each model call: stage k of every sample is evaluated in one batch at
// per-sample times, and samples that have arrived ride along with h = 0.
//
// Error control is on x itself: a step's embedded estimate alpha(lambda_new) err_y is compared
// with atol + rtol max(|x_old|, |x_new|) elementwise, reduced to an RMS over the sample's
// elements. Standard control (Hairer, Norsett, Wanner, I.4): accept when err <= 1, then
// h_new = h min(10, max(0.2, 0.9 err^(-1/5))), with no growth right after a rejection; FSAL;
// initial step by Hairer's rule (one extra evaluation). Whether every sample has arrived is read
// on the host once per step: the one host synchronisation an adaptive method cannot avoid.
//
//   Rk45Result r = rk45_flow(denoiser, x_T, t_start, t_end, {1e-8, 1e-8, 100000});
#pragma once

#include "samplers/sampler.h"

#include <cstdint>

namespace diffuse {

struct Rk45Result {
  torch::Tensor x;            // the solution at t_to
  std::int64_t nfe = 0;       // model evaluations (batched calls) spent
  std::int64_t attempts = 0;  // batched step attempts
  std::int64_t rejected = 0;  // rejected steps, summed over the samples
};

// Integrates the PF-ODE from t_from down to t_to (both with finite lambda, else InputError).
// RuntimeFailure when the run would spend more than tolerance.max_nfe evaluations or a step
// size underflows.
Rk45Result rk45_flow(const Denoiser& denoiser, const torch::Tensor& x, double t_from,
                     double t_to, const ToleranceOptions& tolerance);

// The registry's sample function: rk45_flow from times.front() to times.back() (the grid's
// interior points are not used).
torch::Tensor sample_rk45(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                          NoiseSource& noise, const ToleranceOptions& tolerance);

}  // namespace diffuse
