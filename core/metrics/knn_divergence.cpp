#include "core/metrics/knn_divergence.h"

#include "core/base/errors.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace diffuse {

namespace {

constexpr std::int64_t kDistanceBlockEntries = 1 << 21;  // distances per block (16 MB of float64)

// Distance from each row of `rows` to its k-th nearest row of `points`. Candidates are ranked by
// squared distances from the expansion |a|^2 + |b|^2 - 2 a.b (fast; the caller centres the data),
// then the k chosen distances are recomputed from differences, so a duplicate is exactly 0.
// `self_offset` >= 0: `rows` are points[self_offset:], whose own entries are skipped.
torch::Tensor kth_neighbour_distance(const torch::Tensor& rows, const torch::Tensor& points,
                                     const torch::Tensor& points_sq, int k,
                                     std::int64_t self_offset) {
  auto d2 = torch::addmm(rows.square().sum(1, true) + points_sq, rows, points.t(), 1.0, -2.0);
  if (self_offset >= 0) {
    const auto i = torch::arange(rows.size(0), torch::kInt64);
    d2.index_put_({i, i + self_offset}, std::numeric_limits<double>::infinity());
  }
  const auto index = k == 1 ? d2.argmin(1, /*keepdim=*/true)
                            : std::get<1>(d2.topk(k, 1, /*largest=*/false, /*sorted=*/false));
  const auto neighbours =
      points.index_select(0, index.reshape({-1})).reshape({rows.size(0), k, rows.size(1)});
  return std::get<0>((neighbours - rows.unsqueeze(1)).norm(2, 2).max(1));
}

void require_samples(const torch::Tensor& samples, int k, const char* who) {
  require(samples.defined() && samples.dim() == 2,
          std::string(who) + ": expected samples of shape [n, d]");
  const std::int64_t d = samples.size(1);
  require(d >= 1 && d <= kKnnMaxDim,
          std::string(who) + ": dimension " + std::to_string(d) + " is outside [1, " +
              std::to_string(kKnnMaxDim) +
              "]; the nearest-neighbour estimate is too biased in higher dimensions");
  require(k >= 1, std::string(who) + ": k must be >= 1, got " + std::to_string(k));
  require(samples.size(0) >= k + 1, std::string(who) + ": need at least " + std::to_string(k + 1) +
                                        " samples, got " + std::to_string(samples.size(0)));
}

// psi(m) for a whole number m >= 1: -gamma + sum_{j < m} 1/j.
double digamma_of_integer(std::int64_t m) {
  double sum = -0.57721566490153286061;
  for (std::int64_t j = 1; j < m; ++j) sum += 1.0 / static_cast<double>(j);
  return sum;
}

}  // namespace

double knn_entropy(const torch::Tensor& samples, int k) {
  require_samples(samples, k, "knn_entropy");
  auto x = samples.to(torch::kCPU, torch::kFloat64);
  x = x - x.mean(0, true);
  const std::int64_t n = x.size(0), d = x.size(1);
  const auto x_sq = x.square().sum(1).unsqueeze(0);
  const std::int64_t block = std::max<std::int64_t>(1, kDistanceBlockEntries / n);
  double sum_log_rho = 0.0;
  for (std::int64_t start = 0; start < n; start += block) {
    const auto rows = x.slice(0, start, std::min(start + block, n));
    const auto rho = kth_neighbour_distance(rows, x, x_sq, k, start);
    if ((rho == 0.0).any().item<bool>()) return std::numeric_limits<double>::infinity();
    sum_log_rho += rho.log().sum().item<double>();
  }
  const double half_d = 0.5 * static_cast<double>(d);
  const double log_unit_ball = half_d * std::log(M_PI) - std::lgamma(half_d + 1.0);
  return digamma_of_integer(n) - digamma_of_integer(k) + log_unit_ball +
         static_cast<double>(d) * sum_log_rho / static_cast<double>(n);
}

double knn_kl_divergence(const torch::Tensor& p_samples, const torch::Tensor& q_samples, int k) {
  require_samples(p_samples, k, "knn_kl_divergence");
  require(q_samples.defined() && q_samples.dim() == 2,
          "knn_kl_divergence: expected reference samples of shape [m, d]");
  const std::int64_t n = p_samples.size(0), m = q_samples.size(0), d = p_samples.size(1);
  require(q_samples.size(1) == d, "knn_kl_divergence: the samples have dimension " +
                                      std::to_string(d) + " but the reference " +
                                      std::to_string(q_samples.size(1)));
  require(m >= k, "knn_kl_divergence: need at least " + std::to_string(k) +
                      " reference points, got " + std::to_string(m));
  // Centred on the pooled mean: the squared-distance expansion then cancels less.
  auto x = p_samples.to(torch::kCPU, torch::kFloat64);
  auto y = q_samples.to(torch::kCPU, torch::kFloat64);
  const auto centre = torch::cat({x, y}).mean(0, true);
  x = x - centre;
  y = y - centre;
  const auto x_sq = x.square().sum(1).unsqueeze(0);
  const auto y_sq = y.square().sum(1).unsqueeze(0);
  const std::int64_t block = std::max<std::int64_t>(1, kDistanceBlockEntries / std::max(n, m));
  double sum_log_ratio = 0.0;
  for (std::int64_t start = 0; start < n; start += block) {
    const auto rows = x.slice(0, start, std::min(start + block, n));
    const auto rho = kth_neighbour_distance(rows, x, x_sq, k, start);
    const auto nu = kth_neighbour_distance(rows, y, y_sq, k, -1);
    if ((rho == 0.0).any().item<bool>()) return std::numeric_limits<double>::infinity();
    sum_log_ratio += (nu.log() - rho.log()).sum().item<double>();
  }
  return static_cast<double>(d) * sum_log_ratio / static_cast<double>(n) +
         std::log(static_cast<double>(m) / static_cast<double>(n - 1));
}

}  // namespace diffuse
