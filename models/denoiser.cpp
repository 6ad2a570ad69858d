#include "models/denoiser.h"

#include "core/base/errors.h"
#include "core/math/numerics.h"

namespace diffuse {

Denoiser::Denoiser(ScoreModelPtr model, ProcessPtr process)
    : model_(std::move(model)), process_(std::move(process)) {
  require(model_ != nullptr, "Denoiser: no model given");
  require(process_ != nullptr, "Denoiser: no forward process given");
}

ProcessCoefficients coefficients_at(const ForwardProcess& process, const torch::Tensor& t,
                                    const torch::Tensor& like, bool derivatives) {
  // Coefficients are computed in float64 and cast once, so float32 runs lose nothing to them.
  const auto t64 = t.to(torch::kFloat64);
  const auto cast = [&](const torch::Tensor& c) { return per_sample(c, like); };
  const auto alpha = process.alpha(t64);
  if (!derivatives) return {cast(alpha), cast(process.sigma(t64)), {}, {}};
  return {cast(alpha), cast(process.sigma(t64)), cast(alpha * process.f(t64)),
          cast(process.dsigma_dt(t64))};
}

ScalarCoefficients coefficients_at(const ForwardProcess& process, double t, bool derivatives) {
  ScalarCoefficients c{process.alpha(t), process.sigma(t)};
  if (derivatives) {  // each host coefficient costs microseconds: a batch-1 step's share
    c.dalpha_dt = process.dalpha_dt(t);
    c.dsigma_dt = process.dsigma_dt(t);
  }
  return c;
}

CleanAndNoise Denoiser::predict(const torch::Tensor& x, const torch::Tensor& t) const {
  ++evaluations_;
  const auto prediction = model_->forward(x, t);
  const auto p = model_->parameterization();
  return split(p, prediction, x, coefficients_at(*process_, t, x, needs_derivatives(p)));
}

CleanAndNoise Denoiser::predict(const torch::Tensor& x, double t) const {
  // A shared time: the model's scalings and these coefficients are host doubles, exact whatever
  // the tensors' dtype, and no tensor operation is spent on them.
  ++evaluations_;
  const auto p = model_->parameterization();
  const auto prediction = model_->forward_at(x, t);
  return split(p, prediction, x, coefficients_at(*process_, t, needs_derivatives(p)));
}

torch::Tensor Denoiser::x0(const torch::Tensor& x, double t) const {
  if (model_->parameterization() != Parameterization::x0) return predict(x, t).x0;
  ++evaluations_;
  return model_->forward_at(x, t);
}

torch::Tensor Denoiser::eps(const torch::Tensor& x, double t) const {
  if (model_->parameterization() != Parameterization::eps) return predict(x, t).eps;
  ++evaluations_;
  return model_->forward_at(x, t);
}

torch::Tensor Denoiser::score(const torch::Tensor& x, double t) const {
  return eps(x, t) / -process_->sigma(t);
}

}  // namespace diffuse
