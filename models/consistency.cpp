#include "models/consistency.h"

#include "core/base/errors.h"
#include "core/math/numerics.h"
#include "models/denoiser.h"

namespace diffuse {

ConsistencyCoefficients consistency_coefficients(const ForwardProcess& process,
                                                 const torch::Tensor& t, const torch::Tensor& like,
                                                 double sigma_data) {
  const auto t64 = t.reshape({-1}).to(torch::kFloat64).contiguous();
  // t_min through the same tensor path as t (same shape, same layout), not the host double
  // functions: a last-bit difference would break the exact boundary condition.
  const auto t_min = torch::full_like(t64, process.t_min());
  const auto alpha = process.alpha(t64), alpha_min = process.alpha(t_min);
  const auto s = process.sigma(t64) / alpha, s_min = process.sigma(t_min) / alpha_min;
  const auto d = s - s_min;
  const double sd2 = sigma_data * sigma_data;
  const auto c_skip = (alpha_min / alpha) * (sd2 / (d * d + sd2));
  const auto c_out = alpha_min * d / (s * s + sd2).sqrt();
  return {per_sample(c_skip, like), per_sample(c_out, like)};
}

ConsistencyModel::ConsistencyModel(NetworkModelPtr inner, ProcessPtr process, double sigma_data)
    : inner_(std::move(inner)), process_(std::move(process)), sigma_data_(sigma_data) {
  require(inner_ != nullptr && process_ != nullptr, "ConsistencyModel: missing parts");
  require(sigma_data_ > 0.0, "ConsistencyModel: sigma_data must be > 0");
}

torch::Tensor ConsistencyModel::forward(const torch::Tensor& x, const torch::Tensor& t) {
  return forward_labelled(x, t, torch::Tensor());
}

torch::Tensor ConsistencyModel::forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                                 const torch::Tensor& labels) {
  require(x.dim() >= 2 && t.numel() == x.size(0),
          "consistency model forward: expected x [B, dims...] and t [B]");
  const auto flat = x.reshape({x.size(0), -1});
  const auto raw =
      (labels.defined() ? inner_->forward_labelled(x, t, labels) : inner_->forward(x, t))
          .reshape(flat.sizes());
  const auto x0_hat = inner_->parameterization() == Parameterization::x0
                          ? raw
                          : split(inner_->parameterization(), raw, flat,
                                  coefficients_at(*process_, t.reshape({-1}), flat))
                                .x0;
  const auto c = consistency_coefficients(*process_, t, flat, sigma_data_);
  return (c.c_skip * flat + c.c_out * x0_hat).reshape(x.sizes());
}

std::string ConsistencyModel::describe() const { return "consistency " + inner_->describe(); }

}  // namespace diffuse
