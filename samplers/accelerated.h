// The provably accelerated second-order sampler of Li, Huang, Efimov, Wei, Chi, Chen (ICML 2024),
// in the discrete form of the convergence theory (as samplers/ddpm.h): one step from grid time t
// to the next grid time s < t, with alpha_t := abar_t / abar_s and alpha_{t+1} the previous
// step's ratio,
//   sqrt(alpha_t) Y_{t-1} = Y_t + (1 - alpha_t)/2 s_t(Y_t)
//                         + (1 - alpha_t)^2 / (4 (1 - alpha_{t+1})) (s_t(Y_t) - sqrt(alpha_{t+1})
//                           s_{t+1}(Y_{t+1})).
// The first step has no history: the PF-ODE integral below with the score frozen at s_t,
// sqrt(alpha_t) Y_{t-1} = Y_t + (1 - sqrt(alpha_t)) s_t(Y_t) (first order; the paper's
// (1 - alpha_t)/2 to first order). One score evaluation per step (NFE = K); VP processes only.
// The coefficients are expansions in 1 - alpha_t, which is O(1) at high noise on coarse grids:
// on logSNR grids of vp-linear the sampler beats DDIM only from about K = 64 on (and from about
// K = 32 on ddpm grids of `ddpm`); its advantage is the rate, not the constant.
//
// Why second order: along the PF-ODE, Y_s / sqrt(abar_s) = Y_t / sqrt(abar_t) +
// int_{abar_t}^{abar_s} s_gamma(Y_gamma) / (2 gamma^{3/2}) dgamma. With the score linear in gamma
// through the two newest points, the integral matches the update up to O((1 - alpha)^3) per step
// (the factor sqrt(alpha_{t+1}) makes a constant score exact to second order as well).
//
// The K-th order sampler of Li, Zhou, Wei, Chen (2025, "Faster diffusion models via higher-order
// approximation"). With gamma = abar and y = x / sqrt(gamma), the PF-ODE of a VP process is
//   y(gamma_s) = y(gamma_t) + int_{gamma_t}^{gamma_s} gamma^{-3/2} s_gamma(x_gamma) / 2 dgamma
// (d y / d gamma = -eps / (2 gamma^{3/2} sqrt(1 - gamma)) = score / (2 gamma^{3/2})). On each step
// t -> s the integrand is replaced by its Lagrange interpolant through K anchors
//   gamma_{t,j} = gamma_t + (j / (K - 1)) (gamma_s - gamma_t),  j = 0..K-1
// (equispaced in gamma, both ends included; anchor 0 is x_t itself). Refinement order: the anchor
// states start from the score frozen at s_t; each round evaluates the scores at anchors 1..K-1
// (K - 1 evaluations), then updates all anchor states from the interpolant integrated from
// gamma_t to gamma_{t,j}; the last round's update at anchor K - 1 is x_s. Each round gains one
// order (Picard iteration, contraction O(h)); the quadrature of the interpolant (Newton-Cotes,
// both ends) has order K for even K and K + 1 for odd K (Simpson); the global order is the
// smaller of that and rounds + 1. Rows li-kth-K use rounds = K - 1: formal orders 2, 3, 4 for
// K = 2, 3, 4; measured on logSNR grids of vp-linear (Gaussian data) about -2.0 (64..256
// steps; -1.5 on 16..64), -4.1 and -4.0 (16..64 steps). The weight gamma^{-3/2} varies by
// (gamma_s/gamma_t)^{3/2} across a step at high noise, which a polynomial in gamma follows
// badly: K = 2 diverges on 8-step logSNR grids. Measured on vp-linear grids (score frozen, the
// first step, ratio r = gamma_s / gamma_t): the interpolant's int gamma^{-3/2} dgamma over-states
// the exact 2 (gamma_t^{-1/2} - gamma_s^{-1/2}) by 466x for K = 2 at r = 1820 (2 uniform steps),
// 2.45x at r = 6.7 (20 NFE); for K = 3 by 7.5x at r = 79 (20 NFE, 4 steps), 1.23x at r = 6.7
// (50 NFE), 1.02x at r = 2.7 (100 NFE); the refinement rounds then compound it. So li-kth-K
// blows up below about 50-100 NFE (ring8, logSNR grid: li-kth-3 RMS 419 at 20 NFE, 0.019 at
// 100) though it converges at its order: the theory's schedule keeps 1 - alpha_t =
// 1 - gamma_t / gamma_s <= c log T / T, ratios near 1, which coarse grids do not. Anchors
// uniform in log gamma or in lambda make it worse (li-kth-3, 20 NFE, ring8: 5e3-2e5 instead of
// 11 and 407): the interpolant then swings over the long high-gamma end of the step. Not the
// seed's formula, but for the record: interpolating s alone and integrating gamma^{-3/2}
// L_m(gamma) exactly removes the blow-up (numpy prototype, li-kth-3, ring8, uniform: 0.17 at 20
// NFE, 6.7e-3 at 50).
// The score at anchor 0 is evaluated once a step:
// NFE = steps x (1 + (K - 1) rounds). VP processes only.
#pragma once

#include "samplers/sampler.h"

namespace diffuse {

torch::Tensor sample_li_accelerated(const Denoiser& denoiser, torch::Tensor x,
                                    const TimeGrid& times, NoiseSource& noise);

// anchors K in 2..4, rounds >= 1 (InputError otherwise).
torch::Tensor sample_kth_order(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               int anchors, int rounds);

}  // namespace diffuse
