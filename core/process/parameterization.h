// One prediction, many views (docs/design.md): a network predicts eps, x0, v, the ODE velocity
// or the score; with x = alpha x0 + sigma eps every one of them determines (x0, eps) at (x, t).
// This is the only place the conversions are written; the Denoiser view and the DSM targets call
// it.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace diffuse {

enum class Parameterization { eps, x0, v, velocity, score };

Parameterization parse_parameterization(const std::string& name);  // InputError if unknown
std::string to_string(Parameterization p);
const std::vector<std::string>& parameterization_names();

// The coefficients of the forward process at t, broadcastable against x (e.g. shape [B, 1]).
struct ProcessCoefficients {
  torch::Tensor alpha, sigma, dalpha_dt, dsigma_dt;
};

// The same at one time shared by a whole batch (a sampler's step), as host doubles: no tensor
// operations for coefficients, which are most of a small network's batch-1 evaluation otherwise.
// dalpha_dt and dsigma_dt are 0 where the caller did not need them (all but velocity).
struct ScalarCoefficients {
  double alpha = 1.0, sigma = 0.0, dalpha_dt = 0.0, dsigma_dt = 0.0;
};

struct CleanAndNoise {
  torch::Tensor x0, eps;
};

// (x0, eps) consistent with x = alpha x0 + sigma eps and the prediction. General formulas, valid
// for every process (v is alpha eps - sigma x0; velocity is alpha' x0 + sigma' eps).
CleanAndNoise split(Parameterization p, const torch::Tensor& prediction, const torch::Tensor& x,
                    const ProcessCoefficients& c);
CleanAndNoise split(Parameterization p, const torch::Tensor& prediction, const torch::Tensor& x,
                    const ScalarCoefficients& c);

// The prediction of kind p that the pair (x0, eps) corresponds to: the DSM training target.
torch::Tensor predict(Parameterization p, const torch::Tensor& x0, const torch::Tensor& eps,
                      const ProcessCoefficients& c);

inline torch::Tensor score_of_eps(const torch::Tensor& eps, const torch::Tensor& sigma) {
  return -eps / sigma;
}

}  // namespace diffuse
