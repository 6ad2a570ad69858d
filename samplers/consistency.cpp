#include "samplers/consistency.h"

#include "core/base/errors.h"
#include "samplers/families.h"

#include <algorithm>
#include <cmath>

namespace diffuse {

torch::Tensor sample_consistency(const Denoiser& denoiser, torch::Tensor x,
                                 const TimeGrid& times, NoiseSource& noise) {
  const auto& process = denoiser.process();
  const double alpha_min = process.alpha(process.t_min()),
               sigma_min = process.sigma(process.t_min());
  for (std::size_t k = 0; k + 1 < times.size(); ++k) {
    if (k > 0) {
      // Re-noise x ~ x_{t_min} to t_k with the forward transition from t_min.
      const double a = process.alpha(times[k]) / alpha_min, s = process.sigma(times[k]);
      // max(.., 0): t_k > t_min makes the variance positive; the guard only absorbs rounding.
      const double std_dev = std::sqrt(std::max(s * s - a * a * sigma_min * sigma_min, 0.0));
      x = a * x + std_dev * noise.like(x);
    }
    x = denoiser.x0(x, times[k]);  // one evaluation of f
  }
  return x;
}

void require_consistency_sampler(const ModelConfig& model, const SamplerConfig& sampler,
                                 const std::string& what) {
  if (model.consistency && sampler.name != "consistency")
    throw InputError(what + " is a consistency model (model.consistency = true): sampler '" +
                     sampler.name +
                     "' would read its output as the denoiser E[x0 | x_t], which "
                     "it is not; use --sampler consistency --steps K (K = 1 for one step)");
}

std::vector<SamplerInfo> consistency_samplers() {
  // Order 0: a learned map, not a discretisation of the ODE; more steps trade noise for error.
  return {{"consistency",
           "consistency sampling: f once per step, re-noised in between (Song et al. 2023, Alg. 1)",
           0,
           true,
           evaluations_per_step(1),
           {},
           sample_consistency}};
}

}  // namespace diffuse
