#include "models/subspace.h"

#include "core/base/errors.h"
#include "models/denoiser.h"

namespace diffuse {

SubspaceModuleImpl::SubspaceModuleImpl(torch::Tensor raw_basis,
                                       std::shared_ptr<torch::nn::Module> latent) {
  raw_basis_ = register_parameter("basis", std::move(raw_basis));
  register_module("latent", std::move(latent));
}

torch::Tensor SubspaceModuleImpl::basis() const {
  // Householder QR returns Q up to column signs; fixing diag(R) > 0 makes the map the identity
  // on orthonormal matrices (the QR retraction of Absil, Mahony & Sepulchre 2008, Sec. 4.1.1).
  const auto [q, r] = torch::linalg_qr(raw_basis_, "reduced");
  const auto signs = torch::where(r.diagonal() < 0, -torch::ones_like(r.diagonal()),
                                  torch::ones_like(r.diagonal()));
  return q * signs;
}

SubspaceModel::SubspaceModel(std::string kind, NetworkModelPtr latent, torch::Tensor raw_basis,
                             ProcessPtr process)
    : kind_(std::move(kind)), latent_(std::move(latent)), process_(std::move(process)) {
  require(latent_ != nullptr && process_ != nullptr, "SubspaceModel: missing parts");
  require(raw_basis.dim() == 2 && raw_basis.size(1) <= raw_basis.size(0),
          "SubspaceModel: the basis must be D x d with d <= D");
  module_ = SubspaceModule(std::move(raw_basis), latent_->module());
}

torch::Tensor SubspaceModel::forward(const torch::Tensor& x, const torch::Tensor& t) {
  return forward_with_basis(x, t, module_->basis());
}

torch::Tensor SubspaceModel::forward_at(const torch::Tensor& x, double t) {
  // The latent network at the shared time (its own shared path), and the orthogonal part's
  // coefficients from host doubles as [1, 1] tensors that broadcast over the batch (filled on
  // the device: nothing is copied from the host, which a CUDA graph's capture could not record).
  const auto a = module_->basis();
  const auto flat = x.reshape({x.size(0), -1});
  const auto z = flat.matmul(a);
  const auto host = coefficients_at(*process_, t, needs_derivatives(parameterization()));
  const auto one = [&](double value) { return torch::full({1, 1}, value, flat.options()); };
  const ProcessCoefficients c{one(host.alpha), one(host.sigma), one(host.dalpha_dt),
                              one(host.dsigma_dt)};
  return assemble(x, flat, z, a, latent_->forward_at(z, t), c);
}

torch::Tensor SubspaceModel::forward_with_basis(const torch::Tensor& x, const torch::Tensor& t,
                                                const torch::Tensor& a) {  // a: [D, d]
  const auto flat = x.reshape({x.size(0), -1});
  const auto z = flat.matmul(a);  // A^T x, [B, d]
  return assemble(x, flat, z, a, latent_->forward(z, t),
                  coefficients_at(*process_, t.reshape({-1}), flat));
}

torch::Tensor SubspaceModel::assemble(const torch::Tensor& x, const torch::Tensor& flat,
                                      const torch::Tensor& z, const torch::Tensor& a,
                                      const torch::Tensor& latent,
                                      const ProcessCoefficients& c) const {
  const auto eps_perp = (flat - z.matmul(a.t())) / c.sigma;
  const auto out =
      latent.matmul(a.t()) + predict(parameterization(), torch::zeros_like(flat), eps_perp, c);
  return out.reshape(x.sizes());
}

std::string SubspaceModel::describe() const {
  const auto a = module_->basis();
  return kind_ + " (rank " + std::to_string(a.size(1)) + " of " + std::to_string(a.size(0)) +
         "; latent " + latent_->describe() + ")";
}

torch::Tensor initial_basis(std::int64_t dim, std::int64_t rank, const torch::Tensor& data) {
  require(rank >= 1 && rank <= dim, "model.rank = " + std::to_string(rank) +
                                        ": expected 1 <= rank <= the data's dimension " +
                                        std::to_string(dim));
  if (!data.defined()) return torch::randn({dim, rank}, torch::kFloat64);
  const auto x = data.reshape({data.size(0), -1}).to(torch::kCPU, torch::kFloat64);
  require(x.size(1) == dim, "initial_basis: data has the wrong dimension");
  // Eigenvectors of the second moment X^T X / n, largest eigenvalues first.
  const auto [values, vectors] = torch::linalg_eigh(x.t().matmul(x) / x.size(0), "L");
  return vectors.flip({1}).narrow(1, 0, rank).contiguous();
}

}  // namespace diffuse
