// Sample-quality metrics against data with a known Gaussian mixture (`diffuse eval`):
// exact NLL per dimension, sliced Wasserstein-2 to a fresh reference sample, Gaussian-kernel MMD
// with the median-heuristic bandwidth, and mode coverage (component-assignment frequencies).
//
//   MetricsConfig config;                                      // `metrics:` section
//   auto gen = torch::make_generator<at::CPUGeneratorImpl>(config.seed);
//   nlohmann::json report = evaluate_against_mixture(mixture, samples, config, gen);
//   std::cout << report.dump() << "\n";   // {"count": ..., "nll_per_dim": ..., ...}
//
// Every metric computes in float64 on the samples' device; samples are [n, D] (or [n, dims...],
// flattened). Random draws (reference sample, projections) use the CPU generator passed in.
#pragma once

#include "core/base/config.h"
#include "core/math/mixture.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace diffuse {

struct MetricsConfig {
  int num_projections = 256;                   // sliced W2 directions
  std::optional<std::int64_t> reference_size;  // fresh mixture samples; default: the count
  std::int64_t mmd_max_points = 4096;          // MMD uses the first points of each set
  double coverage_fraction = 0.1;              // covered: frequency >= fraction * weight
  std::int64_t seed = 0;                       // seeds the generator the caller passes in

  template <class V>
  void visit(V& v) {
    v("num_projections", num_projections, config::at_least(1));
    v("reference_size", reference_size, config::at_least<std::int64_t>(2));
    v("mmd_max_points", mmd_max_points, config::at_least<std::int64_t>(2));
    v("coverage_fraction", coverage_fraction, config::in_range(0.0, 1.0));
    v("seed", seed, config::at_least<std::int64_t>(0));
  }
};

// -(1/D) mean_i log p(x_i) under the clean mixture (nats per dimension).
double mean_nll_per_dim(const GaussianMixture& mixture, const torch::Tensor& samples);

// sqrt(mean over random unit directions theta of W2^2(theta^T x, theta^T y)); the 1-D W2 matches
// quantiles at levels (i + 1/2) / max(n, m), interpolating the smaller set's sorted values.
double sliced_w2(const torch::Tensor& x, const torch::Tensor& y, int num_projections,
                 at::Generator generator);

struct MmdResult {
  double mmd2;          // unbiased estimator (U-statistic; can be slightly negative)
  double bandwidth;     // h in k(x, y) = exp(-|x - y|^2 / (2 h^2))
  std::int64_t points;  // points used from each set
};

// Squared MMD with a Gaussian kernel whose h is the median pairwise distance of the pooled first
// (at most) 1000 points of each set. Uses the first max_points of each set (the samples are
// i.i.d., so the first points are a fair subsample); kernel sums are blocked, O(n) memory.
MmdResult mmd_rbf(const torch::Tensor& x, const torch::Tensor& y, std::int64_t max_points = 4096);

struct ModeCoverage {
  std::vector<double> frequencies;  // share of samples whose most responsible component is k
  std::vector<double> weights;      // the mixture's weights
  double total_variation = 0.0;     // (1/2) sum_k |frequency_k - weight_k|
  std::int64_t covered = 0;         // components with frequency >= min_fraction * weight
  double min_fraction = 0.0;
};

ModeCoverage mode_coverage(const GaussianMixture& mixture, const torch::Tensor& samples,
                           double min_fraction = 0.1);

// All of the above as one JSON object with the sample count. Rows with a non-finite entry are
// counted ("non_finite") and left out of every metric. A mixture with a singular covariance has
// no density: its NLL and mode coverage are null.
nlohmann::json evaluate_against_mixture(const GaussianMixture& mixture,
                                        const torch::Tensor& samples, const MetricsConfig& config,
                                        at::Generator generator);

}  // namespace diffuse
