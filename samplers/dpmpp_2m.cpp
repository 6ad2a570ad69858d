// DPM-Solver++(2M) (Lu, Zhou, Bao, Chen, Li, Zhu 2022, "DPM-Solver++: Fast Solver for Guided
// Sampling of Diffusion Probabilistic Models", Algorithm 2). The probability-flow ODE in data
// form has the exact solution from s to t (eq. 9, lambda = log(alpha / sigma), h = lambda_t -
// lambda_s)
//   x_t = (sigma_t / sigma_s) x_s + sigma_t int_{lambda_s}^{lambda_t} e^lambda x0(lambda) dlambda;
// the multistep solver takes x0 linear in lambda through the last two data predictions m_i,
// m_{i-1}, one model evaluation a step:
//   x_{i+1} = (sigma_{i+1} / sigma_i) x_i + alpha_{i+1} (1 - e^{-h_i}) D_i,
//   D_i = (1 + 1 / (2 r_i)) m_i - 1 / (2 r_i) m_{i-1},  r_i = h_{i-1} / h_i,
// and D_0 = m_0 (the first step is DPM-Solver++(1), DDIM in data form). With
// lower_order_final and fewer than 10 steps the last step is first order too (as the
// authors' code does; it steadies very short runs). Conventions: samplers/dpm_solver.h.
#include "samplers/dpm_solver.h"

#include "core/math/numerics.h"

namespace diffuse {

torch::Tensor sample_dpmpp_2m(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                              NoiseSource&, const MultistepOptions& options) {
  const auto& p = denoiser.process();
  const auto lambda = dpm_solver_lambdas(p, times, "dpm-solver++2m");
  const int steps = static_cast<int>(times.size()) - 1;
  torch::Tensor previous;  // m_{i-1}
  for (int i = 0; i < steps; ++i) {
    const auto m = denoiser.x0(x, times[i]);
    const double h = lambda[i + 1] - lambda[i];
    const double a = h * exp_phi(1, -h);  // 1 - e^{-h}, without cancellation for short steps
    const double alpha = p.alpha(times[i + 1]);
    x = x * (p.sigma(times[i + 1]) / p.sigma(times[i]));
    if (multistep_order(2, i, steps, options.lower_order_final) == 1) {
      x.add_(m, alpha * a);
    } else {
      const double r = (lambda[i] - lambda[i - 1]) / h;
      x.add_(m, alpha * (a * (1.0 + 0.5 / r))).add_(previous, alpha * (-a * 0.5 / r));
    }
    previous = m;
  }
  return x;
}

}  // namespace diffuse
