#include "samplers/sde.h"

#include "core/base/errors.h"
#include "core/base/format.h"
#include "samplers/families.h"
#include "samplers/ode.h"

#include <algorithm>
#include <cmath>

namespace diffuse {

torch::Tensor sample_euler_maruyama(const Denoiser& denoiser, torch::Tensor x,
                                    const TimeGrid& times, NoiseSource& noise) {
  // Song et al. 2021 eq. 6, dx = [f x - g^2 score] dt + g dw, one Euler-Maruyama step per interval.
  struct Step {
    double f, g2, dt;
  };
  const auto& process = denoiser.process();
  std::vector<Step> steps;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], f = process.f(t), g2 = process.g2(t);
    require(std::isfinite(f) && std::isfinite(g2),
            "sampler 'euler-maruyama': the reverse SDE of process '" + process.name() +
                "' has an infinite drift or diffusion at t = " + format_number(t) +
                "; start the grid below that time (process.t_max)");
    steps.push_back({f, g2, times[i + 1] - t});
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    const auto score = denoiser.score(x, times[i]);
    x = x + s.dt * (s.f * x - s.g2 * score) + std::sqrt(s.g2 * std::abs(s.dt)) * noise.like(x);
  }
  return x;
}

torch::Tensor sample_heun_churn(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                                NoiseSource& noise, const ChurnOptions& churn_options) {
  // Karras et al. 2022, Algorithm 2, in the scaled variable x / alpha with s = sigma / alpha.
  struct Churn {
    bool churned;
    double t_hat, scale, noise;  // x_hat = scale x + noise z
  };
  const auto& process = denoiser.process();
  const double steps = static_cast<double>(times.size() - 1);
  const auto& o = churn_options;
  std::vector<Churn> churn;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], s = std::exp(-process.lambda(t));
    // gamma_i = min(S_churn / N, sqrt(2) - 1) on [S_tmin, S_tmax]; none where s is infinite.
    const bool inside = std::isfinite(s) && s >= o.s_tmin && s <= o.s_tmax;
    const double gamma = inside ? std::min(o.s_churn / steps, std::sqrt(2.0) - 1.0) : 0.0;
    if (gamma <= 0.0) {
      churn.push_back({false, t, 1.0, 0.0});
      continue;
    }
    const double s_hat = s * (1.0 + gamma);
    const double t_hat = process.t_of_lambda(-std::log(s_hat));
    const double alpha_hat = process.alpha(t_hat);
    churn.push_back({true, t_hat, alpha_hat / process.alpha(t),
                     alpha_hat * s * std::sqrt(gamma * (2.0 + gamma)) * o.s_noise});
  }
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const auto& c = churn[i];
    // Increase the noise level to t_hat (Algorithm 2, lines 4-5).
    const auto x_hat = c.churned ? c.scale * x + c.noise * noise.like(x) : x;
    x = heun_step(denoiser, x_hat, c.t_hat, times[i + 1]);  // Algorithm 2, lines 6-8
  }
  return x;
}

std::vector<SamplerInfo> sde_samplers() {
  return {
      {"euler-maruyama", "reverse SDE, Euler-Maruyama (Song et al. 2021, eq. 6)", 1, true,
       evaluations_per_step(1), {}, sample_euler_maruyama},
      {"heun-churn",
       "Heun with EDM's churn (Karras et al. 2022, Algorithm 2; s_churn, s_tmin, s_tmax, "
       "s_noise), any process via x / alpha",
       2, true, evaluations_per_step(2), {}, sample_heun_churn},
  };
}

}  // namespace diffuse
