// UniPC (Zhao, Bai, Rao, Zhou, Lu 2023): a multistep predictor (UniP-p) and corrector (UniC-p) in
// data prediction (x0), with the B(h) variants bh1 (B(h) = h) and bh2 (B(h) = e^h - 1) and
// orders p = 1, 2, 3. One step t_s -> t with h = lambda_t - lambda_s, model outputs m_0 (at t_s)
// and m_k at the k-th earlier grid time, r_k = (lambda_k - lambda_s) / h, D_k = (m_k - m_0) / r_k:
//   x_base = (sigma_t / sigma_s) x - alpha_t (e^{-h} - 1) m_0
//   UniP-p:  x_pred = x_base - alpha_t B(h) sum_{k<p} rho^p_k D_k
//   UniC-p:  x_t = x_base - alpha_t B(h) (sum_{k<p} rho^c_k D_k + rho^c_p (m_t - m_0)),
//            m_t = x0(x_pred, t),
// where rho solves R rho = b with R_ik = r_k^(i-1) (r_p = 1) and
// b_i = (-h) phi_{i+1}(-h) i! / B(h) (paper eq. 8 / Alg. 2-3); rho^p = 1/2 for p = 2 and
// rho^c = 1/2 for p = 1. The corrector's m_t is the next step's m_0, so a run costs one
// evaluation per step (NFE = K); the last step has no corrector. The first p - 1 steps warm up
// with orders 1, 2, ...; with lower_order_final and K < 10 the last steps lower the order too.
// UniC-p raises UniP-p's order p by one (paper Thm. 3.1), so UniPC-p is of order p + 1 when the
// corrector runs on every step but the last; for p = 3 the first warm-up step (local error
// O(h^3)) caps the formal global order at 3. Measured on logSNR grids of vp-linear (Gaussian
// data, K = 16..64): slopes about -2, -3 and -3.8 for p = 1, 2, 3. On uniform-t grids the last
// step's logSNR width shrinks only like log K, and no order shows.
#pragma once

#include "samplers/sampler.h"

#include <string>

namespace diffuse {

// variant: "bh1" or "bh2"; order: 1, 2 or 3 (InputError otherwise).
torch::Tensor sample_unipc(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                           const MultistepOptions& options, const std::string& variant,
                           int order);

}  // namespace diffuse
