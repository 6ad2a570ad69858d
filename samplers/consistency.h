// Consistency sampling (Song et al. 2023, "Consistency Models", Algorithm 1). A
// consistency model f maps x_t straight to x_{t_min}; K steps evaluate it K times:
//
//   x <- f(x_T, t_0);   for k = 1..K-1:  x <- f(renoise(x, t_k), t_k)
//
// on a descending grid t_0 = t_max > t_1 > ... > t_K (the last time is not evaluated: f always
// lands on the process's t_min). renoise draws x_{t_k} from the forward transition of x_{t_min}:
// (alpha_k / alpha_min) x + sqrt(sigma_k^2 - (alpha_k sigma_min / alpha_min)^2) z, which is the
// paper's x + sqrt(tau^2 - eps^2) z for edm. One step is deterministic; more steps draw z from
// the NoiseSource. Choose the intermediate times with sampler.times (the paper searches them) or
// a named grid. With a score model the same loop is one-step denoising plus re-noising.
//
//   SamplerConfig config;  config.name = "consistency";  config.steps = 2;
//   torch::Tensor x = run_sampler(config, Denoiser(consistency_model, process), x_T, noise);
#pragma once

#include "models/model_factory.h"
#include "samplers/sampler.h"

#include <string>
#include <vector>

namespace diffuse {

torch::Tensor sample_consistency(const Denoiser& denoiser, torch::Tensor x,
                                 const TimeGrid& times, NoiseSource& noise);

// InputError when a consistency model (model.consistency, from `what`, e.g. a checkpoint path)
// is to be sampled by another sampler: their formulas read the model's x0 as the posterior mean
// E[x0 | x_t], which the ODE map f is not.
void require_consistency_sampler(const ModelConfig& model, const SamplerConfig& sampler,
                                 const std::string& what);

}  // namespace diffuse
