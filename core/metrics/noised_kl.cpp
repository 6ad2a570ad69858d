#include "core/metrics/noised_kl.h"

#include "core/base/errors.h"
#include "core/metrics/knn_divergence.h"

#include <cmath>
#include <limits>
#include <vector>

namespace diffuse {

namespace {

// Columns whose span every factor's column space lies in: the left singular vectors of the
// factor that carry weight (the same rank rule as core/metrics/subspace_distance.cpp).
torch::Tensor factor_columns(const GaussianComponent& c) {
  auto [u, s, vt] = torch::linalg_svd(c.factor.to(torch::kFloat64), false, c10::nullopt);
  const auto rank = (s > 1e-10 * s.max()).sum().item<std::int64_t>();
  return u.slice(1, 0, rank);
}

// The same mixture seen through x -> B^T x: means B^T mu_m, covariances B^T Sigma_m B.
GaussianMixture projected(const GaussianMixture& mixture, const torch::Tensor& basis) {
  std::vector<GaussianComponent> components;
  const auto& given = mixture.components();
  for (std::size_t m = 0; m < given.size(); ++m) {
    auto covariance = basis.t().matmul(mixture.covariance(static_cast<std::int64_t>(m)))
                          .matmul(basis);
    covariance = 0.5 * (covariance + covariance.t());  // symmetric to rounding
    const auto mean = basis.t().matmul(given[m].mean.to(torch::kFloat64));
    components.push_back(GaussianComponent::dense(given[m].weight, mean, covariance));
  }
  return GaussianMixture(std::move(components));
}

}  // namespace

std::optional<SharedSubspace> shared_subspace(const GaussianMixture& mixture) {
  const auto& components = mixture.components();
  const auto dim = mixture.dim();
  std::vector<torch::Tensor> columns;
  std::optional<double> floor;
  const auto mean0 = components.front().mean.to(torch::kFloat64);
  for (const auto& c : components) {
    double v = 0.0;
    if (c.kind == CovarianceKind::iso) {
      v = c.iso + c.noise;
    } else if (c.kind == CovarianceKind::factor) {
      v = c.noise;
      columns.push_back(factor_columns(c));
    } else {
      return std::nullopt;
    }
    if (floor && std::abs(v - *floor) > 1e-12 * std::max(1.0, std::abs(*floor)))
      return std::nullopt;
    floor = v;
    const auto shift = c.mean.to(torch::kFloat64) - mean0;
    if (shift.abs().max().item<double>() > 0.0) columns.push_back(shift.unsqueeze(1));
  }
  SharedSubspace shared;
  shared.floor = *floor;
  shared.basis = torch::zeros({dim, 0}, torch::kFloat64);
  if (!columns.empty()) {
    auto [u, s, vt] = torch::linalg_svd(torch::cat(columns, 1), false, c10::nullopt);
    const auto rank = (s > 1e-10 * s.max()).sum().item<std::int64_t>();
    shared.basis = u.slice(1, 0, rank).contiguous();
  }
  shared.offset = mean0 - shared.basis.matmul(shared.basis.t().matmul(mean0));
  return shared;
}

NoisedKl noised_kl(const GaussianMixture& mixture, double alpha, double sigma,
                   const torch::Tensor& samples, int neighbours) {
  const std::int64_t dim = mixture.dim();
  require(samples.defined() && samples.dim() == 2 && samples.size(1) == dim,
          "noised KL: expected samples of shape [n, " + std::to_string(dim) + "]");
  require(samples.size(0) >= neighbours + 1,
          "noised KL: need at least " + std::to_string(neighbours + 1) + " samples, got " +
              std::to_string(samples.size(0)));
  auto shared = shared_subspace(mixture);
  if (!shared || shared->basis.size(1) > kKnnMaxDim) {
    require(dim <= kKnnMaxDim,
            "noised KL: the mixture has no shared subspace of dimension <= " +
                std::to_string(kKnnMaxDim) + " (every component isotropic or low rank with one "
                "common floor) and its dimension " + std::to_string(dim) +
                " is too high to measure whole");
    shared = SharedSubspace{torch::eye(dim, torch::kFloat64), torch::zeros({dim}, torch::kFloat64),
                            0.0};
  }
  const auto x = samples.to(torch::kCPU, torch::kFloat64);
  NoisedKl kl;
  kl.dim = dim;
  kl.subspace_dim = shared->basis.size(1);
  if (!torch::isfinite(x).all().item<bool>()) {
    kl.total = kl.subspace = kl.complement = std::numeric_limits<double>::infinity();
    return kl;
  }
  const auto& basis = shared->basis;
  const auto coordinates = x.matmul(basis);  // [n, k]
  if (kl.subspace_dim > 0) {
    const double log_q =
        projected(mixture, basis).evaluate(coordinates, alpha, sigma, false).log_prob.mean()
            .item<double>();
    kl.subspace = -knn_entropy(coordinates, neighbours) - log_q;
  }
  const std::int64_t rest = dim - kl.subspace_dim;
  if (rest > 0) {
    const auto residual = x - alpha * shared->offset - coordinates.matmul(basis.t());
    const double w = residual.square().sum(1).mean().item<double>() / static_cast<double>(rest);
    const double r = w / (alpha * alpha * shared->floor + sigma * sigma);
    kl.complement_variance_ratio = r;
    kl.complement = 0.5 * static_cast<double>(rest) * (r - 1.0 - std::log(r));
  }
  kl.total = kl.subspace + kl.complement;
  return kl;
}

}  // namespace diffuse
