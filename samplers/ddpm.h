// DDPM and DDIM on variance-preserving processes, in two forms.
//
// The discrete form of the convergence theory (Li, Wei, Chen, Chi 2024), one step from grid time
// t to the next grid time s < t:
//   Y_s = (Y_t + eta_t s_t(Y_t) + sigma_t z) / sqrt(alpha_t),   alpha_t := abar_t / abar_s,
// with abar = alpha(t)^2 of the process, s_t the score and z ~ N(0, I):
//   DDPM  eta_t = 1 - alpha_t,  sigma_t^2 = (1 - alpha_t)(alpha_t - abar_t) / (1 - abar_t)
//   DDIM  eta_t = (1 - alpha_t) / (1 + sqrt((alpha_t - abar_t) / (1 - abar_t))),  sigma_t = 0.
// On `ddpm` / `ddpm-theory` with a ddpm grid through every knot these are the theory's
// coefficients; a subset of knots, or any VP schedule on any grid, uses the step's alpha_t.
// DDPM is Ho et al.'s ancestral step with the posterior variance; DDIM equals Song et al.'s
// eta = 0 update exactly (not only to first order): with q^2 = (alpha_t - abar_t)/(1 - abar_t),
// sigma_t^2 - sqrt(alpha_t) sigma_t sigma_s = (1 - alpha_t) / (1 + q) in VP variables.
//
// Low-dimensional adaptation (Liang, Huang & Chen 2024, Theorems 2-4): among all updates
// Y_s = (Y_t + eta_t s_t + sigma_t z) / sqrt(alpha_t), the error avoids a sqrt(d) factor only when
//   R_t = (1 - abar_t)/(alpha_t - abar_t) (1 - eta_t/(1 - abar_t))^2
//         + sigma_t^2/(alpha_t - abar_t) - 1
// vanishes, which it does for DDPM and DDIM above (and the whole eta-family below): on data in a
// k-dimensional subspace, the Gaussian law of the other D - k coordinates is then carried exactly.
// Two first-order updates outside that family serve as the theorem's controls:
//   ddpm-beta          eta_t = 1 - alpha_t, sigma_t^2 = alpha_t (1 - alpha_t) (Ho et al.'s
//                      sigma^2 = beta_t):
//                      R_t = (1 - alpha_t)^2 abar_t / ((1 - abar_t)(alpha_t - abar_t))
//   ddim-frozen-score  eta_t = 1 - sqrt(alpha_t), sigma_t = 0: the probability-flow ODE
//                      dY/du = Y + s (u = log alpha) solved with the score held at s_t.
//
// The general-eta theory form (`ddim-eta`) is Song et al.'s eta-family rewritten in these
// variables: with S^2 = eta^2 (1 - alpha_t) q^2 (eta^2 times DDPM's sigma_t^2),
//   eta_t = (1 - alpha_t + S^2) / (1 + sqrt(q^2 - S^2 / (1 - abar_t))),  sigma_t = S,
// which is DDIM's coefficient at eta = 0 and DDPM's (1 - alpha_t) at eta = 1.
//
// Song et al. 2021 (`ddim-song`, `ddim-song-eta`), eq. 12 with eq. 16's noise:
//   x_s = alpha_s x0_hat + sqrt(sigma_s^2 - c^2) eps_hat + c z,
//   c = eta (sigma_s / sigma_t) sqrt(1 - alpha_t^2 / alpha_s^2).
#pragma once

#include "samplers/sampler.h"

namespace diffuse {

// alpha_t = abar_t / abar_s of one step t -> s (t > s) and 1 - alpha_t, from log alpha so that a
// short step keeps its digits (expm1 instead of 1 - exp). Shared by the DDPM-type samplers.
struct StepAlpha {
  double alpha;
  double one_minus_alpha;
};
StepAlpha step_alpha(const ForwardProcess& process, double t, double s);

// Host coefficients of one theory-form step t -> s.
struct TheoryStepCoefficients {
  double inv_sqrt_alpha = 1.0;  // 1 / sqrt(alpha_t), alpha_t = abar_t / abar_s
  double eta = 0.0;             // eta_t, multiplies the score s_t(Y_t)
  double sigma = 0.0;           // sigma_t, multiplies z
};

TheoryStepCoefficients ddpm_step_coefficients(const ForwardProcess& process, double t, double s);
// InputError when eta is so large that the step's variance would exceed what it can hold.
TheoryStepCoefficients ddim_step_coefficients(const ForwardProcess& process, double t, double s,
                                              double eta);

// Theory form, NFE = K each: DDPM; DDIM (eta = 0); the two controls outside the adaptive family;
// DDIM with options.eta.
torch::Tensor sample_ddpm(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                          NoiseSource& noise);
torch::Tensor sample_ddim(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                          NoiseSource& noise);
torch::Tensor sample_ddpm_beta(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               NoiseSource& noise);
torch::Tensor sample_ddim_frozen_score(const Denoiser& denoiser, torch::Tensor x,
                                       const TimeGrid& times, NoiseSource& noise);
torch::Tensor sample_ddim_eta(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                              NoiseSource& noise, const EtaOptions& options);

// Song et al. 2021, eq. 12 with options.eta (the `ddim-song` row fixes eta = 0). NFE = K.
torch::Tensor sample_ddim_song(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               NoiseSource& noise, const EtaOptions& options);

}  // namespace diffuse
