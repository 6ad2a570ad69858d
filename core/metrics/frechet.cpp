#include "core/metrics/frechet.h"

#include "core/base/errors.h"

#include <algorithm>

namespace diffuse {

namespace {

// S^{1/2} of a symmetric PSD matrix; eigenvalues that rounding made slightly negative are 0.
torch::Tensor psd_sqrt(const torch::Tensor& s) {
  auto [values, vectors] = torch::linalg_eigh(0.5 * (s + s.t()), "L");
  return (vectors * values.clamp_min(0.0).sqrt()).matmul(vectors.t());
}

}  // namespace

GaussianMoments feature_moments(const torch::Tensor& features) {
  require(features.defined() && features.dim() == 2 && features.size(0) >= 2,
          "frechet: expected features of shape [n, F] with n >= 2");
  const auto f = features.to(torch::kCPU, torch::kFloat64);
  require(torch::isfinite(f).all().item<bool>(), "frechet: the features hold NaN or infinity");
  const auto mean = f.mean(0);
  const auto centred = f - mean;
  return {mean, centred.t().matmul(centred) / static_cast<double>(f.size(0) - 1)};
}

double frechet_distance(const GaussianMoments& a, const GaussianMoments& b) {
  require(a.mean.size(0) == b.mean.size(0),
          "frechet: features of dimension " + std::to_string(a.mean.size(0)) + " and " +
              std::to_string(b.mean.size(0)) + "; expected equal dimensions");
  const auto root_a = psd_sqrt(a.covariance);
  const auto middle = root_a.matmul(b.covariance).matmul(root_a);
  const auto eigenvalues = torch::linalg_eigvalsh(0.5 * (middle + middle.t()), "L");
  const double cross = eigenvalues.clamp_min(0.0).sqrt().sum().item<double>();
  const double mean_term = (a.mean - b.mean).square().sum().item<double>();
  const double fd = mean_term + a.covariance.trace().item<double>() +
                    b.covariance.trace().item<double>() - 2.0 * cross;
  return std::max(fd, 0.0);  // rounding can leave -1e-15 for identical sets
}

double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b) {
  return frechet_distance(feature_moments(features_a), feature_moments(features_b));
}

}  // namespace diffuse
