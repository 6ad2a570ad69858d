#include "models/network.h"

#include "core/base/errors.h"
#include "core/base/precision.h"
#include "models/denoiser.h"

#include <cstdio>

namespace diffuse {

PreconditionedModel::PreconditionedModel(std::string kind,
                                         std::shared_ptr<RawNetworkImpl> network,
                                         Preconditioner preconditioner, ProcessPtr process)
    : kind_(std::move(kind)),
      network_(std::move(network)),
      preconditioner_(std::move(preconditioner)),
      process_(std::move(process)) {
  require(network_ != nullptr && process_ != nullptr, "PreconditionedModel: missing parts");
}

torch::Tensor RawNetworkImpl::forward_labelled(const torch::Tensor& x_in,
                                               const torch::Tensor& c_noise,
                                               const torch::Tensor& labels) {
  if (labels.defined())
    throw InputError("this " + describe() + " network is not class-conditional (model.num_classes "
                     "is for mlp)");
  return forward(x_in, c_noise);
}

torch::Tensor PreconditionedModel::forward(const torch::Tensor& x, const torch::Tensor& t) {
  return forward_labelled(x, t, torch::Tensor());
}

torch::Tensor PreconditionedModel::raw(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                       const torch::Tensor& labels) {
  AutocastScope autocast(x_in.device());  // bf16 when the run asks for it (core/base/precision.h)
  const auto out = labels.defined() ? network_->forward_labelled(x_in, c_noise, labels)
                                    : network_->forward(x_in, c_noise);
  return out.to(x_in.scalar_type());
}

torch::Tensor PreconditionedModel::forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                                    const torch::Tensor& labels) {
  require(x.dim() >= 2 && t.numel() == x.size(0),
          "model forward: expected x [B, dims...] and t [B]");
  const auto flat = x.reshape({x.size(0), -1});
  const auto p = preconditioner_.at(coefficients_at(*process_, t.reshape({-1}), flat,
                                                    needs_derivatives(preconditioner_.output())));
  auto out = p.c_out * raw(p.c_in * flat, p.c_noise, labels);
  if (p.c_skip.defined()) out = out + p.c_skip * flat;
  return out.reshape(x.sizes());
}

torch::Tensor PreconditionedModel::forward_at(const torch::Tensor& x, double t) {
  require(x.dim() >= 2, "model forward: expected x [B, dims...]");
  const auto flat = x.reshape({x.size(0), -1});
  const auto p = preconditioner_.at(
      coefficients_at(*process_, t, needs_derivatives(preconditioner_.output())));
  const std::int64_t rows = network_->shares_noise_path() ? 1 : flat.size(0);
  auto out = raw(flat * p.c_in, torch::full({rows}, p.c_noise, flat.options()), {});
  if (p.c_out != 1.0) out = out * p.c_out;
  if (p.c_skip != 0.0) out = out.add(flat, p.c_skip);
  return out.reshape(x.sizes());
}

std::string PreconditionedModel::describe() const {
  return kind_ + " (" + network_->describe() + ", " + preconditioner_.name() + ", " +
         count_parameters(*network_) + " parameters)";
}

double linear_layer_flops(const torch::nn::Module& module) {
  double flops = 0.0;
  for (const auto& child : module.modules(/*include_self=*/true))
    if (const auto* linear = dynamic_cast<const torch::nn::LinearImpl*>(child.get()))
      flops += 2.0 * static_cast<double>(linear->weight.numel());
  return flops;
}

std::string count_parameters(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  char text[32];
  if (n >= 1000000)
    std::snprintf(text, sizeof text, "%.2fM", n / 1e6);
  else if (n >= 1000)
    std::snprintf(text, sizeof text, "%.1fk", n / 1e3);
  else
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(n));
  return text;
}

}  // namespace diffuse
