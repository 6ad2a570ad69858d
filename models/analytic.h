// The analytic oracle (`model.kind: analytic`): the exact score of the noised marginal
// p_t of a Gaussian mixture under any forward process. p_t is the mixture with means alpha mu_m
// and covariances alpha^2 Sigma_m + sigma^2 I, so
//   grad log p_t(x) = -sum_m r_m(x) (alpha^2 Sigma_m + sigma^2 I)^{-1} (x - alpha mu_m)
// with responsibilities r_m from a log-sum-exp over components (core/math/mixture.h does the
// algebra). Samplers use it through the Denoiser like any network, so "perfect score" runs measure
// a sampler's own discretisation error.
//
//   auto oracle = std::make_shared<AnalyticMixtureScore>(*make_mixture(data), process);
//   torch::Tensor score = oracle->forward(x, t);      // x: [B, D] (or [B, dims...]), t: [B]
//   torch::Tensor log_p = oracle->log_prob_t(x, t);   // [B], differentiable in x
//
// Works in x's dtype (float32 or float64) and on x's device; the mixture's tensors are moved
// there once and cached. Times may differ per sample at no extra cost. Not thread-safe (cache).
#pragma once

#include "core/math/mixture.h"
#include "core/process/process.h"
#include "models/score_model.h"

#include <torch/torch.h>

#include <optional>
#include <string>

namespace diffuse {

class AnalyticMixtureScore : public ScoreModel {
 public:
  AnalyticMixtureScore(GaussianMixture mixture, ProcessPtr process);

  Parameterization parameterization() const override { return Parameterization::score; }
  // The exact score grad_x log p_t(x), shaped like x.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  // The exact log-density log p_t(x) [B].
  torch::Tensor log_prob_t(const torch::Tensor& x, const torch::Tensor& t);
  std::string describe() const override;

  const GaussianMixture& mixture() const { return mixture_; }
  const ProcessPtr& process() const { return process_; }

 private:
  MixtureEvaluation evaluate(const torch::Tensor& x, const torch::Tensor& t, bool with_score);

  GaussianMixture mixture_;
  ProcessPtr process_;
  std::optional<GaussianMixture> cached_;  // mixture_ on the last input's device and dtype
};

}  // namespace diffuse
