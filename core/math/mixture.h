// Gaussian mixtures with exact sampling, exact log-densities and exact noised marginals.
// Under x_t = alpha x0 + sigma eps a mixture stays a mixture: component m becomes
// N(alpha mu_m, alpha^2 Sigma_m + sigma^2 I), so its score is known in closed form at every t.
//
//   using diffuse::GaussianComponent;
//   diffuse::GaussianMixture mixture({
//       GaussianComponent::isotropic(0.5, torch::tensor({-2.0, 0.0}), 0.1),
//       GaussianComponent::low_rank(0.5, torch::zeros({784}), A /*[784, 10]*/, 1e-2)});
//   auto [x, labels] = mixture.sample(4096, generator);       // [4096, D] float64, [4096] int64
//   torch::Tensor log_p = mixture.log_prob(x);                  // [4096], log-sum-exp
//   auto eval = mixture.evaluate(x, alpha, sigma);              // p_t: log-density and score
//   auto on_gpu = mixture.to(torch::dtype(torch::kFloat32).device(torch::kCUDA));
//
// Covariance kinds (each plus `noise` * I, noise >= 0): iso v I, diag(d), full Sigma, and
// factor A A^T (A: D x k) which puts a component near a k-dimensional subspace. Internally every
// component is stored as an orthonormal basis with variances (full: eigendecomposition; factor:
// thin SVD A = P S R^T), so the noised covariance alpha^2 Sigma + sigma^2 I is diagonal in a
// fixed basis for every (alpha, sigma): solves and log-determinants cost O(D k) for factor
// (Woodbury with the capacitance matrix diagonalised once, matrix-determinant lemma), O(D) for
// iso/diag and O(D^2) for full per sample; only construction of a full component is O(D^3).
// The master copy is float64 on the CPU; to() makes a working copy for another dtype/device.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace diffuse {

enum class CovarianceKind { iso, diag, full, factor };

std::string to_string(CovarianceKind kind);

// One component as a user gives it. Only the tensor of its kind is read; all are float64-able.
struct GaussianComponent {
  double weight = 1.0;  // > 0; the mixture normalises the weights
  torch::Tensor mean;   // [D]
  CovarianceKind kind = CovarianceKind::iso;
  double iso = 1.0;      // iso: the variance v
  torch::Tensor diag;    // diag: [D] variances
  torch::Tensor full;    // full: [D, D] symmetric positive semi-definite
  torch::Tensor factor;  // factor: [D, k] matrix A
  double noise = 0.0;    // every kind: covariance += noise * I (factor: s^2)

  static GaussianComponent isotropic(double weight, torch::Tensor mean, double variance);
  static GaussianComponent diagonal(double weight, torch::Tensor mean, torch::Tensor variances);
  static GaussianComponent dense(double weight, torch::Tensor mean, torch::Tensor covariance);
  static GaussianComponent low_rank(double weight, torch::Tensor mean, torch::Tensor factor,
                                    double noise);
};

struct MixtureSample {
  torch::Tensor x;       // [n, D]
  torch::Tensor labels;  // [n] int64 component indices
};

// The noised marginal at (x, alpha, sigma): log p_t(x) [B] and, when asked, its score [B, D].
struct MixtureEvaluation {
  torch::Tensor log_prob;
  torch::Tensor score;
};

namespace detail {
// One component in evaluation form: covariance = floor I + basis diag(variances) basis^T.
// iso: floor only; diag: variances on the axes (no basis); full: eigenvectors and eigenvalues,
// floor 0; factor: left singular vectors of A and squared singular values, floor = noise.
struct FactoredComponent {
  CovarianceKind kind;
  double log_weight;
  torch::Tensor mean;  // [D]
  double floor;
  torch::Tensor variances;  // diag, full: [D]; factor: [r]; iso: undefined
  torch::Tensor basis;      // full: [D, D]; factor: [D, r]; otherwise undefined
};
}  // namespace detail

class GaussianMixture {
 public:
  // Validates every component (InputError naming its index and the fault) and normalises the
  // weights. Symmetry and PSD of `full` are checked to a relative tolerance of 1e-8.
  explicit GaussianMixture(std::vector<GaussianComponent> components);

  int64_t dim() const { return dim_; }
  int64_t num_components() const { return static_cast<int64_t>(master_->components.size()); }
  torch::Tensor weights() const;  // [K] float64, sums to 1
  torch::Tensor means() const;    // [K, D] float64
  // The components as given (float64, CPU) with normalised weights.
  const std::vector<GaussianComponent>& components() const { return master_->components; }
  // Component k's covariance as a dense [D, D] float64 matrix (for tests and small D).
  torch::Tensor covariance(int64_t k) const;
  // True when every covariance is positive definite (the clean density exists).
  bool nonsingular() const { return master_->nonsingular; }

  // A copy whose working tensors live on options' device and dtype (the master stays float64).
  GaussianMixture to(const torch::TensorOptions& options) const;
  torch::TensorOptions options() const { return options_; }

  // Exact samples, drawn in float64 on the CPU with a CPU generator, returned with `options`.
  MixtureSample sample(int64_t n, at::Generator generator,
                       const torch::TensorOptions& options = torch::kFloat64) const;

  // Clean mixture: log p(x) [n] and score grad log p(x) [n, D], in x's dtype and device.
  // InputError unless nonsingular().
  torch::Tensor log_prob(const torch::Tensor& x) const;
  torch::Tensor score(const torch::Tensor& x) const;
  // log pi_m + log N(x; mu_m, Sigma_m) [n, K]: argmax is the most responsible component.
  torch::Tensor component_log_joint(const torch::Tensor& x) const;

  // The marginal of x_t = alpha x0 + sigma eps: means alpha mu, covariances
  // alpha^2 Sigma + sigma^2 I (a new mixture; O(D^3) per full component, cheap otherwise).
  GaussianMixture noised(double alpha, double sigma) const;
  // The same marginal evaluated directly at x [B, D]; alpha and sigma are scalars (0-d or [1])
  // or one per sample ([B]). The cost does not depend on whether they are shared.
  MixtureEvaluation evaluate(const torch::Tensor& x, const torch::Tensor& alpha,
                             const torch::Tensor& sigma, bool with_score = true) const;
  MixtureEvaluation evaluate(const torch::Tensor& x, double alpha, double sigma,
                             bool with_score = true) const;

 private:
  struct Master {
    std::vector<GaussianComponent> components;
    std::vector<detail::FactoredComponent> factored;  // float64, CPU
    bool nonsingular = true;
  };

  GaussianMixture() = default;
  using Factored = std::vector<detail::FactoredComponent>;
  const Factored& factored_for(const torch::Tensor& x, Factored& scratch) const;
  torch::Tensor checked_points(const torch::Tensor& x, const char* who) const;

  std::shared_ptr<const Master> master_;
  Factored work_;  // master_->factored cast to options_
  torch::TensorOptions options_ = torch::kFloat64;
  int64_t dim_ = 0;
};

}  // namespace diffuse
