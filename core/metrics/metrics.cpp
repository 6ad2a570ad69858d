#include "core/metrics/metrics.h"

#include "core/base/errors.h"

#include <algorithm>
#include <cmath>

namespace diffuse {

namespace {

constexpr int64_t kKernelBlockEntries = 1 << 19;  // kernel entries per block
constexpr int64_t kMedianPoints = 1000;     // per set, for the median heuristic

torch::Tensor as_points(const torch::Tensor& samples, int64_t dim, const char* who) {
  require(samples.defined() && samples.dim() >= 2,
          std::string(who) + ": expected samples of shape [n, D]");
  const auto flat = samples.flatten(1).to(torch::kFloat64);
  require(dim < 0 || flat.size(1) == dim,
          std::string(who) + ": samples have " + std::to_string(flat.size(1)) +
              " values each, but the mixture has dimension " + std::to_string(dim));
  return flat;
}

// Squared distances between the rows of a [n, D] and b [m, D].
torch::Tensor squared_distances(const torch::Tensor& a, const torch::Tensor& b) {
  const auto d2 = a.square().sum(1, true) + b.square().sum(1).unsqueeze(0) - 2.0 * a.matmul(b.t());
  return d2.clamp_min(0.0);
}

// sum_{i, j} exp(-|a_i - b_j|^2 / (2 h^2)), in row blocks of about 4 MB each (small blocks
// and in-place steps keep the allocator from mapping fresh pages for every block).
double kernel_sum(const torch::Tensor& a, const torch::Tensor& b, double h) {
  const int64_t block = std::max<int64_t>(1, kKernelBlockEntries / std::max<int64_t>(b.size(0), 1));
  const auto b_sq = b.square().sum(1).unsqueeze(0);
  double total = 0.0;
  for (int64_t start = 0; start < a.size(0); start += block) {
    const auto rows = a.slice(0, start, std::min(start + block, a.size(0)));
    auto d2 = torch::addmm(rows.square().sum(1, true) + b_sq, rows, b.t(), 1.0, -2.0);
    total += d2.clamp_min_(0.0).mul_(-0.5 / (h * h)).exp_().sum().item<double>();
  }
  return total;
}

// Values of sorted [n, P] columns at quantile levels u [L] (linear interpolation between order
// statistics placed at (i + 1/2) / n).
torch::Tensor quantiles(const torch::Tensor& sorted, const torch::Tensor& u) {
  const int64_t n = sorted.size(0);
  const auto position = (u * n - 0.5).clamp(0.0, static_cast<double>(n - 1));
  const auto lo = position.floor().to(torch::kInt64);
  const auto hi = (lo + 1).clamp_max(n - 1);
  const auto frac = (position - lo.to(torch::kFloat64)).unsqueeze(1);
  return sorted.index_select(0, lo) * (1.0 - frac) + sorted.index_select(0, hi) * frac;
}

}  // namespace

double mean_nll_per_dim(const GaussianMixture& mixture, const torch::Tensor& samples) {
  const auto x = as_points(samples, mixture.dim(), "mean_nll_per_dim");
  require(x.size(0) > 0, "mean_nll_per_dim: no samples");
  return -mixture.log_prob(x).mean().item<double>() / static_cast<double>(mixture.dim());
}

double sliced_w2(const torch::Tensor& x_in, const torch::Tensor& y_in, int num_projections,
                 at::Generator generator) {
  const auto x = as_points(x_in, -1, "sliced_w2");
  const auto y = as_points(y_in, x.size(1), "sliced_w2");
  require(x.size(0) > 0 && y.size(0) > 0, "sliced_w2: both sample sets must be non-empty");
  require(num_projections >= 1, "sliced_w2: num_projections must be >= 1");
  // Uniform directions on the sphere: normalised Gaussian vectors.
  auto theta = torch::randn({num_projections, x.size(1)}, generator, torch::kFloat64);
  theta = (theta / theta.norm(2, 1, true)).to(x.device());
  const auto px = std::get<0>(x.matmul(theta.t()).sort(0));
  const auto py = std::get<0>(y.matmul(theta.t()).sort(0));
  torch::Tensor w2;
  if (px.size(0) == py.size(0)) {
    w2 = (px - py).square().mean();
  } else {
    const int64_t levels = std::max(px.size(0), py.size(0));
    const auto u = (torch::arange(levels, x.options()) + 0.5) / static_cast<double>(levels);
    w2 = (quantiles(px, u) - quantiles(py, u)).square().mean();
  }
  return std::sqrt(w2.item<double>());
}

MmdResult mmd_rbf(const torch::Tensor& x_in, const torch::Tensor& y_in, int64_t max_points) {
  require(max_points >= 2, "mmd_rbf: max_points must be >= 2");
  auto x = as_points(x_in, -1, "mmd_rbf");
  auto y = as_points(y_in, x.size(1), "mmd_rbf");
  x = x.slice(0, 0, std::min(x.size(0), max_points));
  y = y.slice(0, 0, std::min(y.size(0), max_points));
  const int64_t m = x.size(0), n = y.size(0);
  require(m >= 2 && n >= 2, "mmd_rbf: each sample set needs at least 2 points");
  // Median heuristic: h = median distance between distinct pooled points.
  const auto pooled = torch::cat(
      {x.slice(0, 0, std::min(m, kMedianPoints)), y.slice(0, 0, std::min(n, kMedianPoints))});
  const auto d2 = squared_distances(pooled, pooled);
  const auto upper = torch::ones_like(d2, torch::kBool).triu(1);
  double h = d2.masked_select(upper).median().sqrt().item<double>();
  if (!(h > 0.0)) h = 1.0;  // all points equal: any bandwidth gives the same (zero) MMD
  // Unbiased: drop the diagonal terms k(x_i, x_i) = 1 of the within-set sums.
  const double kxx = (kernel_sum(x, x, h) - static_cast<double>(m)) / (m * (m - 1.0));
  const double kyy = (kernel_sum(y, y, h) - static_cast<double>(n)) / (n * (n - 1.0));
  const double kxy = kernel_sum(x, y, h) / (static_cast<double>(m) * n);
  return {kxx + kyy - 2.0 * kxy, h, std::min(m, n)};
}

ModeCoverage mode_coverage(const GaussianMixture& mixture, const torch::Tensor& samples,
                           double min_fraction) {
  const auto x = as_points(samples, mixture.dim(), "mode_coverage");
  require(x.size(0) > 0, "mode_coverage: no samples");
  const int64_t k = mixture.num_components();
  const auto assigned = mixture.component_log_joint(x).argmax(1).cpu();
  const auto counts = torch::bincount(assigned, {}, k).to(torch::kFloat64);
  const auto freq = counts / static_cast<double>(x.size(0));
  const auto weights = mixture.weights();
  ModeCoverage result;
  result.min_fraction = min_fraction;
  result.total_variation = 0.5 * (freq - weights).abs().sum().item<double>();
  result.covered = (freq >= min_fraction * weights).sum().item<int64_t>();
  for (int64_t i = 0; i < k; ++i) {
    result.frequencies.push_back(freq[i].item<double>());
    result.weights.push_back(weights[i].item<double>());
  }
  return result;
}

nlohmann::json evaluate_against_mixture(const GaussianMixture& mixture,
                                        const torch::Tensor& samples, const MetricsConfig& config,
                                        at::Generator generator) {
  const auto all = as_points(samples, mixture.dim(), "evaluate_against_mixture");
  const auto finite = torch::isfinite(all).all(1);
  const auto x = all.index_select(0, finite.nonzero().reshape({-1}));
  const int64_t n = x.size(0);
  nlohmann::json out;
  out["count"] = all.size(0);
  out["non_finite"] = all.size(0) - n;
  out["dim"] = mixture.dim();
  require(n >= 2, "evaluate_against_mixture: fewer than 2 finite samples to evaluate");

  const int64_t m = config.reference_size.value_or(n);
  const auto reference = mixture.sample(m, generator).x.to(x.device());
  out["reference_count"] = m;
  out["sliced_w2"] = sliced_w2(x, reference, config.num_projections, generator);
  out["sliced_w2_projections"] = config.num_projections;
  const auto mmd = mmd_rbf(x, reference, config.mmd_max_points);
  out["mmd2"] = mmd.mmd2;
  out["mmd_bandwidth"] = mmd.bandwidth;
  out["mmd_points"] = mmd.points;

  if (mixture.nonsingular()) {
    out["nll_per_dim"] = mean_nll_per_dim(mixture, x);
    const auto coverage = mode_coverage(mixture, x, config.coverage_fraction);
    out["mode_coverage"] = {
        {"frequencies", coverage.frequencies},         {"weights", coverage.weights},
        {"total_variation", coverage.total_variation}, {"covered", coverage.covered},
        {"components", mixture.num_components()},      {"min_fraction", coverage.min_fraction}};
  } else {
    out["nll_per_dim"] = nullptr;
    out["mode_coverage"] = nullptr;
  }
  return out;
}

}  // namespace diffuse
