#include "core/metrics/subspace_distance.h"

#include "core/base/errors.h"

#include <limits>

namespace diffuse {

std::vector<AffineSubspace> component_subspaces(const GaussianMixture& mixture) {
  std::vector<AffineSubspace> subspaces;
  for (const auto& c : mixture.components()) {
    if (c.kind != CovarianceKind::factor) return {};
    auto [u, s, vt] = torch::linalg_svd(c.factor.to(torch::kFloat64), false, c10::nullopt);
    const auto rank = (s > 1e-10 * s.max()).sum().item<std::int64_t>();
    if (rank >= mixture.dim()) return {};
    subspaces.push_back({c.mean.to(torch::kFloat64), u.slice(1, 0, rank)});
  }
  return subspaces;
}

double mean_subspace_distance(const std::vector<AffineSubspace>& subspaces,
                              const torch::Tensor& samples) {
  require(!subspaces.empty(), "subspace distance: the mixture has no low-rank components");
  require(samples.defined() && samples.dim() == 2 && samples.size(0) > 0,
          "subspace distance: expected samples of shape [n, D] with n >= 1");
  const auto x = samples.to(torch::kCPU, torch::kFloat64);
  const std::int64_t dim = subspaces.front().offset.size(0);
  require(x.size(1) == dim, "subspace distance: samples have dimension " +
                                std::to_string(x.size(1)) + ", the mixture " + std::to_string(dim));
  auto nearest = torch::full({x.size(0)}, std::numeric_limits<double>::infinity(), torch::kFloat64);
  for (const auto& a : subspaces) {
    const auto r = x - a.offset;
    // The residual itself, not |r|^2 - |U^T r|^2, which cancels for points near the subspace.
    const auto off = r - r.matmul(a.basis).matmul(a.basis.t());
    nearest = torch::minimum(nearest, off.norm(2, 1));
  }
  return nearest.mean().item<double>();
}

}  // namespace diffuse
