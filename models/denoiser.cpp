#include "models/denoiser.h"

#include "core/errors.h"

namespace diffuse {

Denoiser::Denoiser(ScoreModelPtr model, ProcessPtr process)
    : model_(std::move(model)), process_(std::move(process)) {
  require(model_ != nullptr, "Denoiser: no model given");
  require(process_ != nullptr, "Denoiser: no forward process given");
}

ProcessCoefficients coefficients_at(const ForwardProcess& process, const torch::Tensor& t,
                                    const torch::Tensor& like, bool derivatives) {
  // Coefficients are computed in float64 and cast once, so float32 runs lose nothing to them.
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = like.size(0);
  const auto t64 = t.to(torch::kFloat64);
  const auto cast = [&](const torch::Tensor& c) { return c.reshape(shape).to(like.dtype()); };
  const auto alpha = process.alpha(t64);
  if (!derivatives) return {cast(alpha), cast(process.sigma(t64)), {}, {}};
  return {cast(alpha), cast(process.sigma(t64)), cast(alpha * process.f(t64)),
          cast(process.dsigma_dt(t64))};
}

CleanAndNoise Denoiser::predict(const torch::Tensor& x, const torch::Tensor& t) const {
  ++evaluations_;
  const auto prediction = model_->forward(x, t);
  const auto p = model_->parameterization();
  return split(p, prediction, x, coefficients_at(*process_, t, x, needs_derivatives(p)));
}

CleanAndNoise Denoiser::predict(const torch::Tensor& x, double t) const {
  // A shared time: coefficients are host doubles, exact whatever the tensors' dtype.
  ++evaluations_;
  const auto prediction = model_->forward(x, torch::full({x.size(0)}, t, x.options()));
  const auto scalar = [&](double v) { return torch::scalar_tensor(v, x.options()); };
  const auto p = model_->parameterization();
  ProcessCoefficients c{scalar(process_->alpha(t)), scalar(process_->sigma(t)), {}, {}};
  if (needs_derivatives(p)) {  // each host coefficient costs microseconds: a batch-1 step's share
    c.dalpha_dt = scalar(process_->dalpha_dt(t));
    c.dsigma_dt = scalar(process_->dsigma_dt(t));
  }
  return split(p, prediction, x, c);
}

torch::Tensor Denoiser::score(const torch::Tensor& x, double t) const {
  return eps(x, t) / -process_->sigma(t);
}

}  // namespace diffuse
