// `subspace`: the shared-latent score of the few-shot theory (seed talk, "Information-sharing
// model design"): for data X = A z on a d-dimensional subspace with orthonormal basis A,
//   grad log q_t(x) = A s_latent(A^T x, t) - (I - A A^T) x / sigma_t^2.
// The same holds in every parameterization p: the orthogonal part of x_t is pure noise
// (x0_perp = 0, eps_perp = x_perp / sigma), so
//   out = A q_latent(A^T x, t) + predict(p, 0, (I - A A^T) x / sigma),
// with q_latent any NetworkModel in d dimensions (linear, two-layer, mlp). A is the Q factor of
// a learnable D x d matrix with R's diagonal positive (the unique thin QR), orthonormal by
// construction; an orthonormal raw matrix is its own basis, so the few-shot fine-tuning
// (train/finetune/finetune.h), which retracts the raw matrix by QR after each step, stores A
// itself. `linear` with model.rank = d is this form with a linear latent:
// W = A C(t) A^T - (I - AA^T)/s^2.
#pragma once

#include "models/network.h"

namespace diffuse {

class SubspaceModuleImpl : public torch::nn::Module {
 public:
  // raw_basis: [D, d] initial basis (orthonormalised on use).
  SubspaceModuleImpl(torch::Tensor raw_basis, std::shared_ptr<torch::nn::Module> latent);
  torch::Tensor basis() const;  // A = Q of raw_basis (diag R > 0): [D, d], A^T A = I
  torch::Tensor& raw_basis() { return raw_basis_; }  // the learnable D x d parameter "basis"

 private:
  torch::Tensor raw_basis_;
};
TORCH_MODULE(SubspaceModule);

class SubspaceModel : public NetworkModel {
 public:
  SubspaceModel(std::string kind, NetworkModelPtr latent, torch::Tensor raw_basis,
                ProcessPtr process);

  Parameterization parameterization() const override { return latent_->parameterization(); }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  torch::Tensor forward_at(const torch::Tensor& x, double t) override;
  // The same form with a given [D, d] basis `a` in place of basis() (fine-tuning differentiates
  // through the raw matrix directly; a is used as given, orthonormal or not).
  torch::Tensor forward_with_basis(const torch::Tensor& x, const torch::Tensor& t,
                                   const torch::Tensor& a);
  std::string describe() const override;
  std::shared_ptr<torch::nn::Module> module() const override { return module_.ptr(); }
  std::string kind() const override { return kind_; }

  torch::Tensor basis() const { return module_->basis(); }
  torch::Tensor& raw_basis() { return module_->raw_basis(); }
  const NetworkModelPtr& latent() const { return latent_; }

 private:
  // out = A latent + predict(p, 0, (I - A A^T) x / sigma), from z = A^T x, the latent network's
  // output on z and the process coefficients (per row, or one row for a shared time).
  torch::Tensor assemble(const torch::Tensor& x, const torch::Tensor& flat, const torch::Tensor& z,
                         const torch::Tensor& a, const torch::Tensor& latent,
                         const ProcessCoefficients& c) const;

  std::string kind_;
  NetworkModelPtr latent_;
  SubspaceModule module_{nullptr};
  ProcessPtr process_;
};

// An initial [D, d] basis: the top d right singular vectors of data [n, D] (uncentred PCA: the
// subspace through the origin that holds most of the data's energy), or a Gaussian matrix from
// LibTorch's global generator when `data` is undefined.
torch::Tensor initial_basis(std::int64_t dim, std::int64_t rank, const torch::Tensor& data);

}  // namespace diffuse
