// The Denoiser view (docs/design.md "One prediction, many views"): wraps a ScoreModel and a forward
// process and answers, at (x, t), whichever prediction a sampler's formula uses. It also counts
// score evaluations, so a sampler's reported NFE can be checked against what it spent.
//
//   Denoiser denoiser(model, process);
//   auto [x0, eps] = denoiser.predict(x, t);      // t: a double, or a [B] tensor
//   torch::Tensor s = denoiser.score(x, t);
#pragma once

#include "core/process/parameterization.h"
#include "core/process/process.h"
#include "models/score_model.h"

#include <cstdint>

namespace diffuse {

class Denoiser {
 public:
  Denoiser(ScoreModelPtr model, ProcessPtr process);

  // One model evaluation at a time shared by the whole batch, or one time per sample.
  CleanAndNoise predict(const torch::Tensor& x, double t) const;
  CleanAndNoise predict(const torch::Tensor& x, const torch::Tensor& t) const;

  // One view at a shared time; the model's own output when it predicts that view, so a
  // sampler that needs eps alone spends nothing on x0.
  torch::Tensor x0(const torch::Tensor& x, double t) const;
  torch::Tensor eps(const torch::Tensor& x, double t) const;
  torch::Tensor score(const torch::Tensor& x, double t) const;

  const ForwardProcess& process() const { return *process_; }
  const ProcessPtr& process_ptr() const { return process_; }
  const ScoreModelPtr& model() const { return model_; }

  // Model evaluations since construction or the last reset (a host counter: no sync).
  std::int64_t evaluations() const { return evaluations_; }
  void reset_evaluations() { evaluations_ = 0; }

 private:
  ScoreModelPtr model_;
  ProcessPtr process_;
  mutable std::int64_t evaluations_ = 0;
};

// The process coefficients at per-sample times t [B], shaped [B, 1, ...] to broadcast against x.
// derivatives = false leaves dalpha_dt and dsigma_dt undefined: only velocity uses them, and
// they are most of the cost of a small batch's coefficients.
ProcessCoefficients coefficients_at(const ForwardProcess& process, const torch::Tensor& t,
                                    const torch::Tensor& like, bool derivatives = true);

// The same at one time t shared by a batch, as host doubles (the derivatives 0 unless asked for).
ScalarCoefficients coefficients_at(const ForwardProcess& process, double t, bool derivatives);

// Whether a prediction of kind p needs dalpha_dt and dsigma_dt to be split (velocity only).
inline bool needs_derivatives(Parameterization p) { return p == Parameterization::velocity; }

}  // namespace diffuse
