// How far samples lie from the subspaces of a low-dimensional mixture (`lowdim`,
// `multimanifold`): component m is N(mu_m, A_m A_m^T + s^2 I) with A_m of rank r < D, so its
// mass concentrates near the affine subspace mu_m + span(A_m). A sampler that recovers the
// manifold structure puts its samples close to one of them.
//
//   auto subspaces = component_subspaces(mixture);     // empty: a component is full rank
//   if (!subspaces.empty()) report["subspace_distance"] = mean_subspace_distance(subspaces, x);
//
// For exact samples the distance to the own component's subspace is |z|, z ~ N(0, s^2 I_{D-r}).
#pragma once

#include "core/math/mixture.h"

#include <torch/torch.h>

#include <vector>

namespace diffuse {

struct AffineSubspace {
  torch::Tensor offset;  // [D] float64, mu_m
  torch::Tensor basis;   // [D, r] float64, orthonormal columns spanning A_m's column space
};

// One subspace per component, or none unless every component is a factor component whose
// factor has rank < D (singular values below 1e-10 of the largest count as zero).
std::vector<AffineSubspace> component_subspaces(const GaussianMixture& mixture);

// mean_i min_m |(I - U_m U_m^T)(x_i - mu_m)|; InputError for an empty list, no samples or a
// dimension mismatch.
double mean_subspace_distance(const std::vector<AffineSubspace>& subspaces,
                              const torch::Tensor& samples);

}  // namespace diffuse
