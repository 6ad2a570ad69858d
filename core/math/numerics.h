// Small numerical helpers that several layers share, each defined once:
//
//   exp_phi(k, z)            the phi functions of exponential integrators (DPM-Solver, UniPC)
//   per_sample(v, x)         per-sample values v [B] shaped [B, 1, ...] to broadcast against x
//   splitmix64(z)            the counter-based mixer behind every seed derived from (seed, keys)
//   multistep_order(...)     the order a multistep solver can use at step i (warm-up, final steps)
//   solve_dense(a, b)        x with a x = b for the few-unknown systems of solver coefficients
//
//   const double w = h * exp_phi(1, -h);              // = -expm1(-h): DPM-Solver++'s first weight
//   auto x_t = per_sample(alpha, x0) * x0;            // alpha [B] against x0 [B, C, H, W]
//   auto g = make_generator(splitmix64(seed ^ splitmix64(step)), device);
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace diffuse {

// phi_k(z) = sum_{j >= 0} z^j / (j + k)! for k >= 0 (Hochbruck & Ostermann 2010, eq. 2.10):
//   phi_0(z) = e^z,  phi_1(z) = (e^z - 1) / z,  phi_{k+1}(z) = (phi_k(z) - 1/k!) / z,
// so that int_0^h e^{-(h-u)} u^k / k! du = h^{k+1} phi_{k+1}(-h). Computed on the host in double:
// the series for |z| < 1, where the recursion cancels; the recursion from expm1 elsewhere.
// std::invalid_argument for k < 0.
double exp_phi(int k, double z);
// The same elementwise on a tensor (one z per example: distillation's teacher steps), by the same
// two branches, so that it agrees with the double version to rounding.
torch::Tensor exp_phi(int k, const torch::Tensor& z);

// v of shape [B] (one value per sample) reshaped to [B, 1, ..., 1] with like.dim() dimensions
// and cast to like's dtype, so that it broadcasts against like [B, ...].
torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like);

// SplitMix64's output function of state z + 0x9e3779b97f4a7c15 (Steele, Lea, Flood 2014):
// splitmix64(0) = 0xe220a8397b1dcdaf. Nearby inputs give unrelated outputs, so composing it over
// (seed, stream, counter) gives independent seeds for every counter value without any state.
std::uint64_t splitmix64(std::uint64_t z);

// The order step i of `steps` (0-based) of an `order`-step multistep method can use: min(order,
// i + 1) (only i + 1 model outputs exist at step i: the warm-up), and with lower_order_final on
// fewer than 10 steps also at most steps - i (DPM-Solver's reference rule, Lu et al. 2022b,
// Sec. 5: lower orders in the last steps stabilise very few steps).
int multistep_order(int order, int i, int steps, bool lower_order_final);

// x with a x = b, a square (a[i] its rows), by Gaussian elimination with partial pivoting: for
// the few unknowns of a solver's coefficients (UniPC's rho), on the host. std::invalid_argument
// when the sizes disagree or a pivot is zero (a singular).
std::vector<double> solve_dense(std::vector<std::vector<double>> a, std::vector<double> b);

}  // namespace diffuse
