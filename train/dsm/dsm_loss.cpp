#include "train/dsm/dsm_loss.h"

#include "core/base/errors.h"
#include "models/denoiser.h"
#include "models/preconditioning.h"

namespace diffuse {

DsmDraw make_draw(const ForwardProcess& process, const torch::Tensor& x0, const torch::Tensor& t,
                  at::Generator generator) {
  require(t.dim() == 1 && t.size(0) == x0.size(0), "make_draw: expected one time per sample");
  DsmDraw draw;
  draw.x0 = x0;
  draw.t = t;
  draw.eps = torch::randn(x0.sizes(), generator, x0.options());
  const auto c = coefficients_at(process, t, x0);
  draw.x_t = c.alpha * x0 + c.sigma * draw.eps;
  return draw;
}

std::string resolve_loss_kind(const std::string& loss, const std::string& model_parameterization) {
  return loss == "auto" ? model_parameterization : loss;
}

DsmLoss::DsmLoss(ProcessPtr process, std::string kind, double sigma_data)
    : process_(std::move(process)),
      kind_(std::move(kind)),
      target_(Parameterization::x0),
      sigma_data_(sigma_data) {
  if (kind_ != "edm") target_ = parse_parameterization(kind_);
  require(sigma_data_ > 0.0, "DsmLoss: sigma_data must be > 0");
}

torch::Tensor DsmLoss::operator()(ScoreModel& model, const DsmDraw& d) const {
  const std::int64_t b = d.x0.size(0);
  const auto x_t = d.x_t.reshape({b, -1});
  const auto c = coefficients_at(*process_, d.t, x_t);
  auto prediction = (d.labels.defined() ? model.forward_labelled(d.x_t, d.t, d.labels)
                                        : model.forward(d.x_t, d.t))
                        .reshape({b, -1});
  if (model.parameterization() != target_) {
    const auto [x0_hat, eps_hat] = split(model.parameterization(), prediction, x_t, c);
    prediction = predict(target_, x0_hat, eps_hat, c);
  }
  const auto target = predict(target_, d.x0.reshape({b, -1}), d.eps.reshape({b, -1}), c);
  const auto squared = (prediction - target).square().mean(1);
  if (kind_ == "score") return (c.sigma * c.sigma).reshape({b}) * squared;
  if (kind_ == "edm") return edm_loss_weight(c, sigma_data_).reshape({b}) * squared;
  return squared;
}

}  // namespace diffuse
