// Stochastic samplers for every process of docs/design.md: the reverse SDE by Euler-Maruyama, and
// Heun's method with EDM's churn (Karras et al. 2022, Algorithm 2).
//
// Churn for any process: EDM writes Algorithm 2 for x_t = x_0 + t eps. In the scaled variable
// x / alpha = x_0 + s eps with s = sigma / alpha = exp(-lambda) every process has that form, so
// the churn is done there: s_hat = s_i (1 + gamma_i), t_hat = t(lambda = -log s_hat) and
//   x_hat = (alpha(t_hat) / alpha(t_i)) x_i + alpha(t_hat) sqrt(s_hat^2 - s_i^2) S_noise z,
// which has the process's marginal at t_hat when x_i has it at t_i. The step from t_hat to
// t_{i+1} is then Algorithm 1's Heun step in t (the `heun` row), so with S_churn = 0 the row is
// `heun` exactly. S_tmin and S_tmax bound s_i (EDM's sigma for `edm`); churned times may pass
// the process's t_max when S_tmax does not stop them (as in EDM): the formulas extend there.
#pragma once

#include "samplers/sampler.h"

namespace diffuse {

// Reverse SDE (Song et al. 2021, eq. 6) by Euler-Maruyama, f and g^2 taken at t_i:
// x_{i+1} = x_i + [f x_i - g^2 score(x_i, t_i)] (t_{i+1} - t_i) + sqrt(g^2 |t_{i+1} - t_i|) z.
// NFE = K. InputError when f or g^2 is infinite at a grid time (rf at t = 1).
torch::Tensor sample_euler_maruyama(const Denoiser& denoiser, torch::Tensor x,
                                    const TimeGrid& times, NoiseSource& noise);

// EDM Algorithm 2 (churn S_churn, S_tmin, S_tmax, S_noise), then Heun. NFE = 2K.
torch::Tensor sample_heun_churn(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                                NoiseSource& noise, const ChurnOptions& churn_options);

}  // namespace diffuse
