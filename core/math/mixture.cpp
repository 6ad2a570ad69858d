#include "core/math/mixture.h"

#include "core/base/errors.h"
#include "core/io/npy.h"

#include <cmath>

namespace diffuse {

namespace {

constexpr double kLog2Pi = 1.8378770664093453;  // log(2 pi)
// Relative tolerance of the symmetry and PSD checks of a full covariance (float64 rounding of
// a YAML or computed matrix stays far below it).
constexpr double kCovarianceTolerance = 1e-8;

[[noreturn]] void fail(std::size_t index, const std::string& what) {
  throw InputError("Gaussian mixture: component " + std::to_string(index) + ": " + what);
}

torch::Tensor as_host64(const torch::Tensor& t) {
  // A copy, so later in-place changes to the caller's tensor cannot reach the mixture.
  return t.detach().to(torch::TensorOptions().dtype(torch::kFloat64).device(torch::kCPU),
                       /*non_blocking=*/false, /*copy=*/true);
}

bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }

// Checks one component against the mixture's dimension and returns its evaluation form.
detail::FactoredComponent factorise(GaussianComponent& c, std::size_t index, int64_t dim,
                                    bool& nonsingular) {
  if (!(std::isfinite(c.weight) && c.weight > 0.0))
    fail(index, "weight must be a finite number > 0, got " + std::to_string(c.weight));
  if (!c.mean.defined()) fail(index, "no mean given");
  c.mean = as_host64(c.mean);
  if (c.mean.dim() != 1 || c.mean.size(0) != dim)
    fail(index, "mean has shape " + shape_string(c.mean) + ", expected [" + std::to_string(dim) + "]");
  if (!all_finite(c.mean)) fail(index, "mean has non-finite entries");
  if (!(std::isfinite(c.noise) && c.noise >= 0.0))
    fail(index, "noise variance must be finite and >= 0, got " + std::to_string(c.noise));

  detail::FactoredComponent f{c.kind, std::log(c.weight), c.mean, 0.0, {}, {}};
  switch (c.kind) {
    case CovarianceKind::iso:
      if (!(std::isfinite(c.iso) && c.iso >= 0.0))
        fail(index, "iso variance must be finite and >= 0, got " + std::to_string(c.iso));
      f.floor = c.iso + c.noise;
      nonsingular = nonsingular && f.floor > 0.0;
      break;
    case CovarianceKind::diag: {
      if (!c.diag.defined()) fail(index, "covariance kind diag but no diag variances given");
      c.diag = as_host64(c.diag);
      if (c.diag.dim() != 1 || c.diag.size(0) != dim)
        fail(index,
             "diag has shape " + shape_string(c.diag) + ", expected [" + std::to_string(dim) + "]");
      if (!all_finite(c.diag) || c.diag.min().item<double>() < 0.0)
        fail(index, "diag variances must be finite and >= 0 (not positive semi-definite)");
      f.variances = c.diag + c.noise;
      nonsingular = nonsingular && f.variances.min().item<double>() > 0.0;
      break;
    }
    case CovarianceKind::full: {
      if (!c.full.defined()) fail(index, "covariance kind full but no full matrix given");
      c.full = as_host64(c.full);
      if (c.full.dim() != 2 || c.full.size(0) != dim || c.full.size(1) != dim)
        fail(index, "full covariance has shape " + shape_string(c.full) + ", expected [" +
                        std::to_string(dim) + ", " + std::to_string(dim) + "]");
      if (!all_finite(c.full)) fail(index, "full covariance has non-finite entries");
      const double scale = c.full.abs().max().item<double>();
      const double asym = (c.full - c.full.t()).abs().max().item<double>();
      if (asym > kCovarianceTolerance * scale)
        fail(index,
             "full covariance is not symmetric (max |S - S^T| = " + std::to_string(asym) + ")");
      auto [eigenvalues, eigenvectors] = torch::linalg_eigh(0.5 * (c.full + c.full.t()), "L");
      const double lowest = eigenvalues.min().item<double>();
      if (lowest < -kCovarianceTolerance * scale)
        fail(index, "full covariance is not positive semi-definite (smallest eigenvalue " +
                        std::to_string(lowest) + ")");
      // Eigenvalues within rounding of zero are zero: a singular covariance stays singular.
      eigenvalues = torch::where(eigenvalues.abs() <= kCovarianceTolerance * scale,
                                 torch::zeros_like(eigenvalues), eigenvalues);
      f.variances = eigenvalues + c.noise;
      f.basis = eigenvectors;
      nonsingular = nonsingular && f.variances.min().item<double>() > 0.0;
      break;
    }
    case CovarianceKind::factor: {
      if (!c.factor.defined()) fail(index, "covariance kind factor but no factor matrix given");
      c.factor = as_host64(c.factor);
      if (c.factor.dim() != 2 || c.factor.size(0) != dim || c.factor.size(1) < 1)
        fail(index, "factor has shape " + shape_string(c.factor) + ", expected [" +
                        std::to_string(dim) + ", k] with k >= 1");
      if (!all_finite(c.factor)) fail(index, "factor has non-finite entries");
      // A = P S R^T: A A^T = P S^2 P^T, the capacitance matrix diagonalised once.
      auto [p, s, rt] = torch::linalg_svd(c.factor, false, c10::nullopt);
      f.variances = s.square();
      f.basis = p;
      f.floor = c.noise;
      if (p.size(1) == dim) {
        // k >= D: the basis spans everything; treat it as a full eigendecomposition.
        f.kind = CovarianceKind::full;
        f.variances = f.variances + c.noise;
        f.floor = 0.0;
        nonsingular = nonsingular && f.variances.min().item<double>() > 0.0;
      } else {
        nonsingular = nonsingular && c.noise > 0.0;
      }
      break;
    }
  }
  return f;
}

detail::FactoredComponent cast(const detail::FactoredComponent& f,
                               const torch::TensorOptions& options) {
  const auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(options) : t; };
  return {f.kind, f.log_weight, move(f.mean), f.floor, move(f.variances), move(f.basis)};
}

// Squared row norms; a reduction (no [B, D] temporary) unless autograd needs the smooth form.
torch::Tensor row_norms2(const torch::Tensor& t, bool inplace) {
  return inplace ? t.norm(2, 1).square() : (t * t).sum(1);
}

// One component of the noised marginal N(alpha mu, alpha^2 Sigma + sigma^2 I) at x [B, D]:
// log N [B] and, when asked, v = (alpha^2 Sigma + sigma^2 I)^{-1} (x - alpha mu) [B, D].
// alpha is [B] (expanded when shared); a2 = alpha^2 and s2 = sigma^2 are [B, 1] or [1, 1].
// With `inplace` (autograd not recording) temporaries are updated in place: at D = 784 the
// cost is memory traffic, and every fresh [B, D] buffer costs page faults besides.
std::pair<torch::Tensor, torch::Tensor> component_terms(
    const detail::FactoredComponent& f, const torch::Tensor& x, const torch::Tensor& alpha,
    const torch::Tensor& a2, const torch::Tensor& s2, bool with_v, bool inplace) {
  const int64_t dim = x.size(1);
  auto diff = torch::addr(x, alpha, f.mean, 1.0, -1.0);  // x - alpha mu, one pass
  torch::Tensor quad, logdet, v;
  switch (f.kind) {
    case CovarianceKind::iso: {
      const auto c = a2 * f.floor + s2;  // [., 1]
      quad = row_norms2(diff, inplace) / c.squeeze(1);
      logdet = static_cast<double>(dim) * c.log().squeeze(1);
      if (with_v) v = inplace ? diff.div_(c) : diff / c;
      break;
    }
    case CovarianceKind::diag: {
      const auto c = a2 * f.variances + s2;  // [., D]
      const auto w = diff / c;
      quad = (w * diff).sum(1);
      logdet = c.log().sum(1);
      if (with_v) v = w;
      break;
    }
    case CovarianceKind::full: {
      // Rotate into the eigenbasis, where the noised covariance is diagonal.
      const auto y = diff.matmul(f.basis);
      const auto c = a2 * f.variances + s2;
      const auto w = y / c;
      quad = (y * w).sum(1);
      logdet = c.log().sum(1);
      if (with_v) v = w.matmul(f.basis.t());
      break;
    }
    case CovarianceKind::factor: {
      // Woodbury: C = c I + P diag(a2 s^2) P^T, so C^{-1} = (I - P P^T) / c + P diag(1/cv) P^T
      // with cv = c + a2 s^2; matrix-determinant lemma: log det C = (D - r) log c + sum log cv.
      const int64_t r = f.basis.size(1);
      const auto c = a2 * f.floor + s2;      // [., 1]
      const auto cv = a2 * f.variances + c;  // [., r]
      const auto p = diff.matmul(f.basis);   // [B, r]
      const auto pt = f.basis.t();
      // The part of x - alpha mu off the subspace, formed explicitly (no |d|^2 - |p|^2
      // cancellation when the noise floor and sigma are small).
      const auto perp = inplace ? diff.addmm_(p, pt, 1.0, -1.0) : diff.addmm(p, pt, 1.0, -1.0);
      const auto w = p / cv;
      quad = row_norms2(perp, inplace) / c.squeeze(1) + (p * w).sum(1);
      logdet = static_cast<double>(dim - r) * c.log().squeeze(1) + cv.log().sum(1);
      if (with_v) v = inplace ? perp.div_(c).addmm_(w, pt) : (perp / c).addmm(w, pt);
      break;
    }
  }
  const auto log_n = -0.5 * (quad + logdet + static_cast<double>(dim) * kLog2Pi);
  return {log_n, v};
}

// Broadcast alpha or sigma (a scalar or one per sample) to a [B, 1] or [1, 1] column.
torch::Tensor column(const torch::Tensor& value, const torch::Tensor& x, const char* name) {
  const auto flat = value.reshape({-1}).to(x.options());
  require(flat.numel() == 1 || flat.numel() == x.size(0),
          std::string("GaussianMixture::evaluate: ") + name + " has " +
              std::to_string(flat.numel()) + " entries, expected 1 or " +
              std::to_string(x.size(0)) + " (one per sample)");
  return flat.reshape({-1, 1});
}

}  // namespace

std::string to_string(CovarianceKind kind) {
  switch (kind) {
    case CovarianceKind::iso:
      return "iso";
    case CovarianceKind::diag:
      return "diag";
    case CovarianceKind::full:
      return "full";
    case CovarianceKind::factor:
      return "factor";
  }
  return "?";
}

namespace {

GaussianComponent component_of_kind(double weight, torch::Tensor mean, CovarianceKind kind) {
  GaussianComponent c;
  c.weight = weight;
  c.mean = std::move(mean);
  c.kind = kind;
  return c;
}

}  // namespace

GaussianComponent GaussianComponent::isotropic(double weight, torch::Tensor mean, double variance) {
  auto c = component_of_kind(weight, std::move(mean), CovarianceKind::iso);
  c.iso = variance;
  return c;
}

GaussianComponent GaussianComponent::diagonal(double weight, torch::Tensor mean,
                                              torch::Tensor variances) {
  auto c = component_of_kind(weight, std::move(mean), CovarianceKind::diag);
  c.diag = std::move(variances);
  return c;
}

GaussianComponent GaussianComponent::dense(double weight, torch::Tensor mean,
                                           torch::Tensor covariance) {
  auto c = component_of_kind(weight, std::move(mean), CovarianceKind::full);
  c.full = std::move(covariance);
  return c;
}

GaussianComponent GaussianComponent::low_rank(double weight, torch::Tensor mean,
                                              torch::Tensor factor, double noise) {
  auto c = component_of_kind(weight, std::move(mean), CovarianceKind::factor);
  c.factor = std::move(factor);
  c.noise = noise;
  return c;
}

GaussianMixture::GaussianMixture(std::vector<GaussianComponent> components) {
  require(!components.empty(), "Gaussian mixture: no components given");
  require(components[0].mean.defined() && components[0].mean.dim() == 1 &&
              components[0].mean.size(0) >= 1,
          "Gaussian mixture: component 0: mean must be a non-empty vector");
  dim_ = components[0].mean.size(0);
  auto master = std::make_shared<Master>();
  double total = 0.0;
  for (const auto& c : components) total += c.weight;
  for (std::size_t i = 0; i < components.size(); ++i) {
    master->factored.push_back(factorise(components[i], i, dim_, master->nonsingular));
  }
  for (std::size_t i = 0; i < components.size(); ++i) {
    components[i].weight /= total;
    master->factored[i].log_weight = std::log(components[i].weight);
  }
  master->components = std::move(components);
  work_ = master->factored;
  master_ = std::move(master);
}

torch::Tensor GaussianMixture::weights() const {
  std::vector<double> w;
  for (const auto& c : master_->components) w.push_back(c.weight);
  return torch::tensor(w, torch::kFloat64);
}

torch::Tensor GaussianMixture::means() const {
  std::vector<torch::Tensor> m;
  for (const auto& c : master_->components) m.push_back(c.mean);
  return torch::stack(m);
}

torch::Tensor GaussianMixture::covariance(int64_t k) const {
  require(k >= 0 && k < num_components(),
          "GaussianMixture::covariance: no component " + std::to_string(k));
  const auto& c = master_->components[k];
  const auto eye = torch::eye(dim_, torch::kFloat64);
  switch (c.kind) {
    case CovarianceKind::iso:
      return (c.iso + c.noise) * eye;
    case CovarianceKind::diag:
      return torch::diag(c.diag) + c.noise * eye;
    case CovarianceKind::full:
      return c.full + c.noise * eye;
    case CovarianceKind::factor:
      return c.factor.matmul(c.factor.t()) + c.noise * eye;
  }
  return {};
}

GaussianMixture GaussianMixture::to(const torch::TensorOptions& options) const {
  GaussianMixture copy = *this;
  copy.options_ = options;
  copy.work_.clear();
  for (const auto& f : master_->factored) copy.work_.push_back(cast(f, options));
  return copy;
}

const GaussianMixture::Factored& GaussianMixture::factored_for(const torch::Tensor& x,
                                                               Factored& scratch) const {
  if (x.dtype() == options_.dtype() && x.device() == options_.device()) return work_;
  for (const auto& f : master_->factored) scratch.push_back(cast(f, x.options()));
  return scratch;
}

torch::Tensor GaussianMixture::checked_points(const torch::Tensor& x, const char* who) const {
  require(x.defined() && x.dim() == 2 && x.size(1) == dim_,
          std::string("GaussianMixture::") + who + ": expected points of shape [n, " +
              std::to_string(dim_) + "], got " + (x.defined() ? shape_string(x) : "nothing"));
  require(x.is_floating_point(),
          std::string("GaussianMixture::") + who + ": points must be floating point");
  return x;
}

MixtureSample GaussianMixture::sample(int64_t n, at::Generator generator,
                                      const torch::TensorOptions& options) const {
  require(n >= 0, "GaussianMixture::sample: n must be >= 0, got " + std::to_string(n));
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  if (n == 0) {
    return {torch::zeros({0, dim_}, options), torch::zeros({0}, torch::kInt64)};
  }
  const auto labels = torch::multinomial(weights(), n, /*replacement=*/true, generator);
  const auto z = torch::randn({n, dim_}, generator, f64);
  auto x = torch::empty({n, dim_}, f64);
  for (int64_t k = 0; k < num_components(); ++k) {
    const auto idx = (labels == k).nonzero().reshape({-1});
    const int64_t count = idx.numel();
    if (count == 0) continue;
    const auto& f = master_->factored[k];
    const auto zk = z.index_select(0, idx);
    torch::Tensor xk;
    switch (f.kind) {
      case CovarianceKind::iso:
        xk = std::sqrt(f.floor) * zk;
        break;
      case CovarianceKind::diag:
        xk = zk * f.variances.sqrt();
        break;
      case CovarianceKind::full:
        xk = (zk * f.variances.sqrt()).matmul(f.basis.t());
        break;
      case CovarianceKind::factor: {
        // P S u has covariance P S^2 P^T = A A^T; the floor adds independent isotropic noise.
        const auto u = torch::randn({count, f.basis.size(1)}, generator, f64);
        xk = (u * f.variances.sqrt()).matmul(f.basis.t()) + std::sqrt(f.floor) * zk;
        break;
      }
    }
    x.index_copy_(0, idx, xk + f.mean);
  }
  return {x.to(options), labels};
}

MixtureEvaluation GaussianMixture::evaluate(const torch::Tensor& x, const torch::Tensor& alpha,
                                            const torch::Tensor& sigma, bool with_score) const {
  checked_points(x, "evaluate");
  const auto a = column(alpha, x, "alpha");
  const auto s = column(sigma, x, "sigma");
  const auto a2 = a.square();
  const auto s2 = s.square();
  const auto a_rows = a.reshape({-1}).expand({x.size(0)});
  const bool inplace = !(torch::GradMode::is_enabled() && x.requires_grad());
  Factored scratch;
  const auto& factored = factored_for(x, scratch);
  // Online log-sum-exp over components (running max m, sum of exp, weighted sum of v), so no
  // [K, B, D] buffer is needed. score = -sum_k r_k v_k with responsibilities r_k.
  torch::Tensor m, total, acc;
  for (const auto& f : factored) {
    auto [log_n, v] = component_terms(f, x, a_rows, a2, s2, with_score, inplace);
    const auto logit = log_n + f.log_weight;
    if (!m.defined()) {
      m = logit;
      total = torch::ones_like(logit);
      if (with_score) acc = v;
      continue;
    }
    const auto m_new = torch::maximum(m, logit);
    const auto keep = (m - m_new).exp();
    const auto add = (logit - m_new).exp();
    total = total * keep + add;
    if (with_score) {
      acc = inplace ? acc.mul_(keep.unsqueeze(1)).addcmul_(v, add.unsqueeze(1))
                    : acc * keep.unsqueeze(1) + v * add.unsqueeze(1);
    }
    m = m_new;
  }
  MixtureEvaluation result;
  result.log_prob = m + total.log();
  if (with_score) {
    const auto scale = -1.0 / total.unsqueeze(1);
    result.score = inplace ? acc.mul_(scale) : acc * scale;
  }
  return result;
}

MixtureEvaluation GaussianMixture::evaluate(const torch::Tensor& x, double alpha, double sigma,
                                            bool with_score) const {
  const auto opts = x.options();
  return evaluate(x, torch::full({1}, alpha, opts), torch::full({1}, sigma, opts), with_score);
}

torch::Tensor GaussianMixture::log_prob(const torch::Tensor& x) const {
  require(nonsingular(),
          "GaussianMixture::log_prob: a component has a singular covariance, so "
          "the clean density does not exist (give it a noise variance > 0)");
  return evaluate(x, 1.0, 0.0, /*with_score=*/false).log_prob;
}

torch::Tensor GaussianMixture::score(const torch::Tensor& x) const {
  require(nonsingular(),
          "GaussianMixture::score: a component has a singular covariance, so "
          "the clean score does not exist (give it a noise variance > 0)");
  return evaluate(x, 1.0, 0.0, /*with_score=*/true).score;
}

torch::Tensor GaussianMixture::component_log_joint(const torch::Tensor& x) const {
  require(nonsingular(),
          "GaussianMixture::component_log_joint: a component has a singular "
          "covariance (give it a noise variance > 0)");
  checked_points(x, "component_log_joint");
  const auto one = torch::ones({1, 1}, x.options());
  const auto zero = torch::zeros({1, 1}, x.options());
  const auto ones = torch::ones({x.size(0)}, x.options());
  const bool inplace = !(torch::GradMode::is_enabled() && x.requires_grad());
  Factored scratch;
  std::vector<torch::Tensor> columns;
  for (const auto& f : factored_for(x, scratch)) {
    columns.push_back(component_terms(f, x, ones, one, zero, false, inplace).first + f.log_weight);
  }
  return torch::stack(columns, 1);
}

GaussianMixture GaussianMixture::noised(double alpha, double sigma) const {
  require(std::isfinite(alpha) && alpha >= 0.0 && std::isfinite(sigma) && sigma >= 0.0,
          "GaussianMixture::noised: alpha and sigma must be finite and >= 0, got alpha = " +
              std::to_string(alpha) + ", sigma = " + std::to_string(sigma));
  std::vector<GaussianComponent> noised;
  const double a2 = alpha * alpha;
  for (auto c : master_->components) {
    c.mean = alpha * c.mean;
    c.iso = a2 * c.iso;
    if (c.diag.defined()) c.diag = a2 * c.diag;
    if (c.full.defined()) c.full = a2 * c.full;
    if (c.factor.defined()) c.factor = alpha * c.factor;
    c.noise = a2 * c.noise + sigma * sigma;
    noised.push_back(std::move(c));
  }
  return GaussianMixture(std::move(noised)).to(options_);
}

}  // namespace diffuse
