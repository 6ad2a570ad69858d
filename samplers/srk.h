// Stochastic Runge-Kutta for the reverse SDE (the stochastic higher-order sampler of Wu, Chen,
// Wei 2024). Given t the reverse SDE dx = [f x - g^2 score] dt + g dw has additive noise, so a
// derivative-free scheme of strong order 1.5 (weak order 2) applies: Kloeden & Platen (1992),
// eq. 11.2.19, with the time-dependent diffusion term of the order-1.5 Taylor scheme (eq. 10.4.6).
// In reverse time tau (step Delta = t_n - t_{n+1} > 0), drift a(x, t) = g^2(t) score(x, t) - f(t) x
// and diffusion b(t) = sqrt(g^2(t)); dW = sqrt(Delta) U_1 and dZ = int int dW ds =
// Delta^{3/2} (U_1 + U_2 / sqrt(3)) / 2 with U_1, U_2 independent standard normals (two draws a
// step), xi = (sqrt(3) U_1 + U_2) / 2 (unit variance, dZ = Delta^{3/2} xi / sqrt(3)):
//   Y_pm = Y_n + a(Y_n, t_n) Delta pm b_n sqrt(Delta) xi
//   Y_{n+1} = Y_n + b_n dW + (a(Y_+, t_{n+1}) - a(Y_-, t_{n+1})) Delta / (2 sqrt(3))
//           + (a(Y_+, t_{n+1}) + 2 a(Y_n, t_n) + a(Y_-, t_{n+1})) Delta / 4
//           + (b_{n+1} - b_n) (dW - dZ / Delta).
// Kloeden & Platen take one pair of supporting values per noise coordinate (2d + 1 evaluations);
// here the pair lies along xi, so the difference gives b grad(a) dZ (exact for affine drift) and
// the mean gives Delta^2/4 b^2 xi' hess(a) xi, whose expectation is the Laplacian term weak order 2
// needs. Three score evaluations per step in any dimension (NFE = 3K).
#pragma once

#include "samplers/sampler.h"

namespace diffuse {

torch::Tensor sample_srk(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                         NoiseSource& noise);

}  // namespace diffuse
