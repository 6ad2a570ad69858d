#include "samplers/srk.h"

#include "samplers/families.h"

#include <cmath>

namespace diffuse {

// Kloeden & Platen 1992, eq. 11.2.19 (explicit order-1.5 strong scheme, additive noise) on the
// reverse SDE of Song et al. 2021 (eq. 6), as the stochastic Runge-Kutta of Wu, Chen, Wei 2024.
torch::Tensor sample_srk(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                         NoiseSource& noise) {
  struct Step {
    double delta, sqrt_delta;
    double f_n, g2_n, f_next, g2_next;  // drift pieces at t_n and t_{n+1}
    double b_n, b_next;                 // diffusion b = sqrt(g^2)
  };
  const auto& process = denoiser.process();
  std::vector<Step> steps;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], s = times[i + 1];
    Step c;
    c.delta = t - s;
    c.sqrt_delta = std::sqrt(c.delta);
    c.f_n = process.f(t);
    c.g2_n = process.g2(t);
    c.f_next = process.f(s);
    c.g2_next = process.g2(s);
    c.b_n = std::sqrt(c.g2_n);
    c.b_next = std::sqrt(c.g2_next);
    steps.push_back(c);
  }
  // Reverse-time drift a(x, t) = g^2 score - f x (one score evaluation).
  const auto drift = [&](const torch::Tensor& y, double t, double f, double g2) {
    return g2 * denoiser.score(y, t) - f * y;
  };
  const double inv_sqrt3 = 1.0 / std::sqrt(3.0), half_sqrt3 = 0.5 * std::sqrt(3.0);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& c = steps[i];
    const double s = times[i + 1];
    const auto u1 = noise.like(x), u2 = noise.like(x);
    const auto dw = c.sqrt_delta * u1;
    const auto dz = (0.5 * c.delta * c.sqrt_delta) * (u1 + inv_sqrt3 * u2);
    const auto xi = half_sqrt3 * u1 + 0.5 * u2;  // the supporting direction, unit variance
    const auto a = drift(x, times[i], c.f_n, c.g2_n);
    const auto base = x + c.delta * a;
    const auto spread = (c.b_n * c.sqrt_delta) * xi;
    const auto a_plus = drift(base + spread, s, c.f_next, c.g2_next);
    const auto a_minus = drift(base - spread, s, c.f_next, c.g2_next);
    x = x + c.b_n * dw + (c.delta * 0.5 * inv_sqrt3) * (a_plus - a_minus) +
        (0.25 * c.delta) * (a_plus + 2.0 * a + a_minus) +
        (c.b_next - c.b_n) * (dw - dz / c.delta);
  }
  return x;
}

std::vector<SamplerInfo> srk_samplers() {
  return {
      {"srk", "reverse-SDE stochastic Runge-Kutta, strong 1.5 / weak 2 (Wu, Chen, Wei 2024; KP "
              "11.2.19)",
       2, true, evaluations_per_step(3), {}, sample_srk},
  };
}

}  // namespace diffuse
