// One prediction, many views (DESIGN.md): a network predicts eps, x0, v, the ODE velocity or the
// score; with x = alpha x0 + sigma eps every one of them determines (x0, eps) at (x, t). This is
// the only place the conversions are written; the Denoiser view and the DSM targets call it.
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

struct CleanAndNoise {
  torch::Tensor x0, eps;
};

// (x0, eps) consistent with x = alpha x0 + sigma eps and the prediction. General formulas, valid
// for every process (v is alpha eps - sigma x0; velocity is alpha' x0 + sigma' eps).
CleanAndNoise split(Parameterization p, const torch::Tensor& prediction, const torch::Tensor& x,
                    const ProcessCoefficients& c);

// The prediction of kind p that the pair (x0, eps) corresponds to: the DSM training target.
torch::Tensor predict(Parameterization p, const torch::Tensor& x0, const torch::Tensor& eps,
                      const ProcessCoefficients& c);

inline torch::Tensor score_of_eps(const torch::Tensor& eps, const torch::Tensor& sigma) {
  return -eps / sigma;
}

}  // namespace diffuse
