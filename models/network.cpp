#include "models/network.h"

#include "core/errors.h"
#include "core/precision.h"
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

torch::Tensor PreconditionedModel::forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                                    const torch::Tensor& labels) {
  require(x.dim() >= 2 && t.numel() == x.size(0),
          "model forward: expected x [B, dims...] and t [B]");
  const auto flat = x.reshape({x.size(0), -1});
  const auto p = preconditioner_.at(coefficients_at(*process_, t.reshape({-1}), flat,
                                                    needs_derivatives(preconditioner_.output())));
  torch::Tensor raw;
  {
    AutocastScope autocast(flat.device());  // bf16 when the run asks for it (core/precision.h)
    raw = labels.defined() ? network_->forward_labelled(p.c_in * flat, p.c_noise, labels)
                           : network_->forward(p.c_in * flat, p.c_noise);
  }
  auto out = p.c_out * raw.to(flat.scalar_type());
  if (p.c_skip.defined()) out = out + p.c_skip * flat;
  return out.reshape(x.sizes());
}

std::string PreconditionedModel::describe() const {
  return kind_ + " (" + network_->describe() + ", " + preconditioner_.name() + ", " +
         count_parameters(*network_) + " parameters)";
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
