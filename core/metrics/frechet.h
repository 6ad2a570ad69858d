// Frechet distance between two sets of feature vectors, each summarised by a Gaussian with its
// sample mean and covariance (the distance behind FID; Dowson & Landau 1982 for the closed form):
//
//   FD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}).
//
// The last trace is sum_i sqrt(lambda_i) over the eigenvalues of the symmetric PSD matrix
// S_a^{1/2} S_b S_a^{1/2} (the same as tr((S_a S_b)^{1/2})), so two symmetric
// eigendecompositions suffice and no general matrix square root is needed.
//
//   double fd = frechet_distance(features_of_samples /*[n, F]*/, features_of_data /*[m, F]*/);
//   GaussianMoments g = feature_moments(features);  // reuse one side's moments across calls
#pragma once

#include <torch/torch.h>

namespace diffuse {

struct GaussianMoments {
  torch::Tensor mean;        // [F] float64
  torch::Tensor covariance;  // [F, F] float64, unbiased (divides by n - 1)
};

// InputError unless features is [n, F] with n >= 2 and finite.
GaussianMoments feature_moments(const torch::Tensor& features);

// InputError when the dimensions differ.
double frechet_distance(const GaussianMoments& a, const GaussianMoments& b);
double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b);

}  // namespace diffuse
