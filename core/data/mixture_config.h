// The `data:` section of a run config: explicit Gaussian mixtures, named presets, the
// multi-manifold mixture of the pretraining theory, two moons, and MNIST-format image data.
//
//   auto data = config::load<DataConfig>(root["data"], "data");
//   std::optional<GaussianMixture> mixture = make_mixture(data);   // nullopt: two-moons, idx
//   torch::Tensor x = sample_data(data, 10000, generator);         // synthetic kinds
//
// YAML shapes (every preset parameter is optional; the defaults below are what it uses):
//
//   data:                         # an explicit mixture
//     kind: mixture
//     dim: 2                      # optional; checked against every mean
//     components:                 # weights are normalised; give exactly one covariance key
//       - {weight: 1, mean: [0, 0], iso: 0.1}                  # v I
//       - {weight: 2, mean: [2, 0], diag: [0.1, 0.3]}          # diag(d)
//       - {weight: 1, mean: [0, 2], full: [[1, 0.5], [0.5, 1]]}
//       - {weight: 1, mean: [2, 2], factor: [[1], [1]], noise: 0.01}   # A A^T + s^2 I
//                                 # `noise` (default 0) adds noise * I to any kind
//
//   data: {kind: ring8, radius: 4, std: 0.3}        # 8 iso Gaussians on a circle, equal weights
//   data: {kind: grid5x5, spacing: 2, std: 0.2}     # 25 on {-2,-1,0,1,2}^2 * spacing
//   data: {kind: lowdim, dim: 16, subspace_dim: 2, num_components: 4, mean_scale: 2, std: 0.5,
//          noise_floor: 1e-4, seed: 0}            # all components in one random subspace
//   data: {kind: multimanifold, dim: 16, subspace_dim: 2, num_subspaces: 3,
//          components_per_subspace: 2, mean_scale: 2, std: 0.5, noise_floor: 1e-4, seed: 0}
//   data:                         # the multi-manifold mixture given explicitly
//     kind: multimanifold
//     noise_floor: 1e-4
//     manifolds:                  # X ~ sum_l pi_l sum_m pi_lm N(A_l mu_lm, A_l S_lm A_l^T)
//       - weight: 1               # pi_l
//         basis: [[1, 0], [0, 1], [0, 0]]   # A_l: D x d, orthonormal columns
//         components:             # latent (d-dimensional) components, same keys as above
//           - {weight: 1, mean: [1, 0], iso: 0.2}
//   data: {kind: shared-latent, dim: 16, subspace_dim: 2, num_components: 4, mean_scale: 2,
//          std: 0.5, noise_floor: 1e-4, seed: 0, domain: source, angle: 30}
//                                 # few-shot source/target pair: one latent mixture z
//                                 # in R^d, X = A_s z (domain: source; the same data as lowdim)
//                                 # or X = A_ta z (target); A_ta at principal angle `angle`
//                                 # (degrees, all d angles) from A_s, random when angle is absent
//   data: {kind: two-moons, noise: 0.1}             # non-Gaussian, no exact score
//   data: {kind: idx, path: /usr/share/datasets/fashion-mnist, split: train, classes: [0, 3],
//          per_class: 10}                          # MNIST-format images (core/io/idx.h)
//
// Generated subspaces A_l are the Q factor of a seeded Gaussian D x d matrix; latent means are
// mean_scale * N(0, I_d); latent covariances std^2 R diag(u) R^T with R a random rotation and
// u ~ U[0.25, 1]; all weights equal. A latent component becomes the ambient factor component
// (A_l S^{1/2}, noise_floor): A S A^T is singular, so the exact density needs the floor.
#pragma once

#include "core/base/config.h"
#include "core/io/idx.h"
#include "core/math/mixture.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace diffuse {

const std::vector<std::string>& data_kinds();

// One Gaussian component in YAML; exactly one of iso, diag, full, factor.
struct ComponentConfig {
  double weight = 1.0;
  std::vector<double> mean;
  std::optional<double> iso;
  std::optional<std::vector<double>> diag;
  std::optional<std::vector<std::vector<double>>> full;
  std::optional<std::vector<std::vector<double>>> factor;
  double noise = 0.0;

  template <class V>
  void visit(V& v) {
    v("weight", weight, config::greater_than(0.0));
    v("mean", mean);
    v("iso", iso, config::at_least(0.0));
    v("diag", diag);
    v("full", full);
    v("factor", factor);
    v("noise", noise, config::at_least(0.0));
  }
};

// One subspace of the multi-manifold mixture: pi_l, A_l and its latent components.
struct ManifoldConfig {
  double weight = 1.0;
  std::vector<std::vector<double>> basis;
  std::vector<ComponentConfig> components;

  template <class V>
  void visit(V& v) {
    v("weight", weight, config::greater_than(0.0));
    v("basis", basis);
    v("components", components);
  }
};

struct DataConfig {
  std::string kind = "ring8";
  std::optional<int> dim;
  std::vector<ComponentConfig> components;  // mixture
  std::vector<ManifoldConfig> manifolds;    // multimanifold, explicit
  // Preset parameters; each kind accepts only its own (see data_parameters()).
  std::optional<double> radius, spacing, std_dev, mean_scale, noise_floor, noise;
  std::optional<int> subspace_dim, num_components, num_subspaces, components_per_subspace;
  std::optional<std::int64_t> seed;  // generated subspaces, means and covariances
  std::optional<std::string> domain;  // shared-latent: source | target
  std::optional<double> angle;        // shared-latent: principal angle of A_ta to A_s, degrees
  // idx: directory of MNIST-format files, split, and a selection.
  std::optional<std::string> path, split;
  std::vector<std::int64_t> classes;  // empty: all classes
  std::optional<int> per_class;       // the first n images of each selected class

  template <class V>
  void visit(V& v) {
    v("kind", kind, config::one_of(data_kinds()));
    v("dim", dim, config::at_least(1));
    v("components", components);
    v("manifolds", manifolds);
    v("radius", radius, config::greater_than(0.0));
    v("spacing", spacing, config::greater_than(0.0));
    v("std", std_dev, config::greater_than(0.0));
    v("mean_scale", mean_scale, config::at_least(0.0));
    v("noise_floor", noise_floor, config::greater_than(0.0));
    v("noise", noise, config::at_least(0.0));
    v("subspace_dim", subspace_dim, config::at_least(1));
    v("num_components", num_components, config::at_least(1));
    v("num_subspaces", num_subspaces, config::at_least(1));
    v("components_per_subspace", components_per_subspace, config::at_least(1));
    v("seed", seed, config::at_least<std::int64_t>(0));
    v("domain", domain, config::one_of({"source", "target"}));
    v("angle", angle, config::in_range(0.0, 90.0));
    v("path", path);
    v("split", split, config::one_of({"train", "test"}));
    v("classes", classes);
    v("per_class", per_class, config::at_least(1));
  }
};

// The keys a kind reads besides `kind`.
std::vector<std::string> data_parameters(const std::string& kind);

// The config with every parameter of its kind filled in (for the resolved config written beside
// outputs); InputError for a parameter the kind does not read or a missing required one.
DataConfig resolve_data_config(const DataConfig& config);

// The exact mixture of a Gaussian kind; nullopt for two-moons and idx. InputError naming the key
// path for malformed components or bases.
std::optional<GaussianMixture> make_mixture(const DataConfig& config);

// n float64 samples [n, D] of a synthetic kind, drawn with a CPU generator; InputError for idx.
torch::Tensor sample_data(const DataConfig& config, std::int64_t n, at::Generator generator);

// The D x d orthonormal basis of a one-subspace kind (lowdim; shared-latent: A_s or A_ta of its
// domain), float64; nullopt for other kinds.
std::optional<torch::Tensor> data_subspace_basis(const DataConfig& config);

// shared-latent: the d-dimensional latent mixture, covariances S_m + noise_floor I, so that
// A^T x ~ latent for data x of either domain (the exact latent score of the few-shot theory);
// nullopt for other kinds.
std::optional<GaussianMixture> latent_mixture(const DataConfig& config);

// The idx kind's images with its path, split, classes and per_class applied.
ImageDataset load_image_data(const DataConfig& config);

}  // namespace diffuse
