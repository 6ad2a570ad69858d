// DPM-Solver (Lu et al. 2022, "DPM-Solver: A Fast ODE Solver for Diffusion Probabilistic Model
// Sampling in Around 10 Steps") and DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: Fast Solver for
// Guided Sampling of Diffusion Probabilistic Models"): exponential integrators of the
// probability-flow ODE in lambda = log(alpha / sigma), whose exact solution from s to t is
//
//   noise form (DPM-Solver):  x_t = (alpha_t / alpha_s) x_s - alpha_t int e^-lambda eps dlambda
//   data form (DPM-Solver++): x_t = (sigma_t / sigma_s) x_s + sigma_t int e^lambda x0 dlambda
//
// (integrals over [lambda_s, lambda_t]); the solvers expand eps or x0 in lambda. Every process of
// docs/design.md has lambda, so every row supports every process.
//
// Conventions, those of the authors' reference `dpm_solver_pytorch.py` (so a run agrees with it
// point by point for the same model, x_T, order, method and skip type; scripts/
// compare_dpm_solver_reference.py checks it):
//   - grids: our `uniform`, `logsnr`, `quadratic` grids are its skip types `time_uniform`,
//     `logSNR`, `time_quadratic`, from t_max to t_end (vp-linear and ddpm: 1 to 1e-3). Our `ddpm`
//     process puts abar_i at t = i/N (i = 1..N) with log alpha linear in between, which is its
//     discrete schedule's t_i = (i+1)/N for 0-based i: the same function of t.
//   - singlestep rows with a fixed order p (dpm-solver-1/2/3, dpm-solver++2s, its
//     method='singlestep_fixed'): `steps` K is the number of steps, NFE = p K (its `steps` is the
//     NFE, p K). The intermediate times of a step from s to t are spaced like the grid kind (its
//     get_time_steps(skip_type, s, t, p)): uniform in t, in sqrt(t) for quadratic, in lambda for
//     logsnr and every other grid or a user-given one, i.e. r1 = 1/2; r1 = 1/3, r2 = 2/3.
//   - the fast order mixes (dpm-solver-fast, dpm-solver-fast-2, its method='singlestep'):
//     `steps` is the NFE; dpm_solver_fast_orders gives the orders. Their grid (row.make_grid)
//     holds every evaluation time: for logsnr, K = len(orders) outer steps uniform in lambda, each
//     split uniformly in lambda into its order's parts; for other kinds, the kind's grid with NFE
//     intervals (the reference takes the outer times from it at the cumulative orders). A
//     user-given grid is such a grid of NFE intervals.
//   - multistep rows (dpm-solver++2m, ++3m, sde-dpm-solver++2m; method='multistep'): NFE = K;
//     step i uses order min(order, i + 1) (warm-up) and, with lower_order_final and K < 10,
//     at most K - i (the reference asserts K >= order; we run K < order with the warm-up orders).
//   - high-order terms use the reference's default solver_type 'dpmsolver' (the r-midpoint
//     forms), not 'taylor'.
//   - the reference's 3M update (dpm-solver++3m) is kept as published although it is only second
//     order: its second difference D2 = (D1_0 - D1_1) / (r0 + r1) is half of h^2 x0''.
//     dpm-solver++3m-corrected uses 2 (D1_0 - D1_1) / (r0 + r1) and is third order.
// Step coefficients are computed in double on the host before the step loop.
//
//   SamplerConfig config;
//   config.name = "dpm-solver++2m";
//   config.steps = 20;
//   torch::Tensor x0 = run_sampler(config, denoiser, x_T, noise);
#pragma once

#include "samplers/sampler.h"

#include <vector>

namespace diffuse {

enum class DpmPrediction { noise, data };

// Singlestep, fixed order: DPM-Solver-1 (= DDIM with eta = 0), -2 (midpoint), -3 with noise
// prediction; DPM-Solver++(2S) with data prediction (order 2). NFE = order K.
torch::Tensor sample_dpm_solver_singlestep(const Denoiser& denoiser, torch::Tensor x,
                                          const TimeGrid& times, const SpacingOptions& options,
                                          DpmPrediction prediction, int order);
// DPM-Solver-fast: the order mix of dpm_solver_fast_orders(NFE, max_order) over a grid of NFE
// intervals (dpm_solver_fast_grid).
torch::Tensor sample_dpm_solver_fast(const Denoiser& denoiser, torch::Tensor x,
                                     const TimeGrid& times, int max_order);
// One singlestep DPM-Solver step (noise prediction, order 1..3) from s to t with one time per
// example ([B] tensors), its inner times at r = 1/2 or 1/3, 2/3 in lambda: the teacher's step
// of consistency distillation, by the samplers' own plan.
torch::Tensor dpm_solver_step(const Denoiser& denoiser, const torch::Tensor& x,
                              const torch::Tensor& s, const torch::Tensor& t, int order);

// DPM-Solver++(2M) (samplers/dpmpp_2m.cpp); (3M) as published or corrected; SDE-DPM-Solver++(2M),
// the reverse SDE in lambda with noise from `noise`. Multistep, data prediction, NFE = K.
torch::Tensor sample_dpmpp_2m(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                              NoiseSource& noise, const MultistepOptions& options);
torch::Tensor sample_dpmpp_3m(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                              const MultistepOptions& options, bool corrected);
torch::Tensor sample_sde_dpmpp_2m(const Denoiser& denoiser, torch::Tensor x,
                                  const TimeGrid& times, NoiseSource& noise,
                                  const MultistepOptions& options);

// The reference's order mix spending exactly `nfe` evaluations with orders <= max_order (1..3):
//   max_order 3, K = nfe/3 + 1:  nfe % 3 == 0: [3]*(K-2) + [2, 1]; 1: [3]*(K-1) + [1];
//                                2: [3]*(K-1) + [2]
//   max_order 2: [2]*(nfe/2), then [1] when nfe is odd;   max_order 1: [1]*nfe.
// Every nfe >= 1 can be met; InputError for nfe < 1 or max_order outside 1..3.
std::vector<int> dpm_solver_fast_orders(int nfe, int max_order);

// The evaluation grid of a fast mix with grid.steps = NFE (see the conventions above).
std::vector<double> dpm_solver_fast_grid(const ForwardProcess& process,
                                         const TimeGridConfig& grid, int max_order);

// lambda at every time of a DPM-Solver grid; InputError naming `sampler` when the grid has fewer
// than two times or lambda is infinite at one of them (alpha = 0 or sigma = 0 there, e.g. rf at
// t = 1): the solvers step in lambda.
std::vector<double> dpm_solver_lambdas(const ForwardProcess& process,
                                       const std::vector<double>& times,
                                       const std::string& sampler);

// The order-1..3 times strictly inside a singlestep step from s to t (order - 1 of them), spaced
// like the grid kind `spacing` (see the conventions above).
std::vector<double> singlestep_inner_times(const ForwardProcess& process,
                                           const std::string& spacing, double s, double t,
                                           int order);

// DPM-Solver++ multistep weights: x_t = (sigma_t/sigma_0) x + alpha_t (w0 m0 + w1 m1 + w2 m2),
// m_j the data predictions at lambda_0 > ... (m0 newest), h = lambda_t - lambda_0,
// h0 = lambda_0 - lambda_1, h1 = lambda_1 - lambda_2 (unused below order 3, h1 below order 2).
struct DpmppWeights {
  double m0 = 0.0, m1 = 0.0, m2 = 0.0;
};
DpmppWeights dpmpp_multistep_weights(int order, double h, double h0, double h1,
                                     bool corrected_3m);

}  // namespace diffuse
