#include "core/data/mixture_config.h"

#include "core/base/errors.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace diffuse {

namespace {

constexpr double kPi = 3.14159265358979323846;
const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError("config: " + path + ": " + what);
}

// Which keys were given (optionals set, lists non-empty), for the per-kind parameter check.
std::vector<std::pair<std::string, bool>> given_keys(const DataConfig& c) {
  return {{"dim", c.dim.has_value()},
          {"components", !c.components.empty()},
          {"manifolds", !c.manifolds.empty()},
          {"radius", c.radius.has_value()},
          {"spacing", c.spacing.has_value()},
          {"std", c.std_dev.has_value()},
          {"mean_scale", c.mean_scale.has_value()},
          {"noise_floor", c.noise_floor.has_value()},
          {"noise", c.noise.has_value()},
          {"subspace_dim", c.subspace_dim.has_value()},
          {"num_components", c.num_components.has_value()},
          {"num_subspaces", c.num_subspaces.has_value()},
          {"components_per_subspace", c.components_per_subspace.has_value()},
          {"seed", c.seed.has_value()},
          {"domain", c.domain.has_value()},
          {"angle", c.angle.has_value()},
          {"path", c.path.has_value()},
          {"split", c.split.has_value()},
          {"classes", !c.classes.empty()},
          {"per_class", c.per_class.has_value()}};
}

template <class T>
void fill(std::optional<T>& field, T value) {
  if (!field) field = value;
}

// A YAML matrix (a list of rows) as a float64 [rows, cols] tensor; cols < 0: any, but equal.
torch::Tensor matrix(const std::vector<std::vector<double>>& rows, const std::string& path,
                     int64_t expected_rows, int64_t expected_cols) {
  if (static_cast<int64_t>(rows.size()) != expected_rows)
    fail(path, "has " + std::to_string(rows.size()) + " rows, expected " +
                   std::to_string(expected_rows) + " (the dimension)");
  const int64_t cols =
      expected_cols >= 0 ? expected_cols : static_cast<int64_t>(rows.empty() ? 0 : rows[0].size());
  if (cols < 1) fail(path, "rows are empty; expected at least one column");
  auto out = torch::empty({expected_rows, cols}, kF64);
  auto a = out.accessor<double, 2>();
  for (int64_t i = 0; i < expected_rows; ++i) {
    if (static_cast<int64_t>(rows[i].size()) != cols)
      fail(path, "row " + std::to_string(i) + " has " + std::to_string(rows[i].size()) +
                     " entries, expected " + std::to_string(cols));
    for (int64_t j = 0; j < cols; ++j) a[i][j] = rows[i][j];
  }
  return out;
}

// A YAML component (D-dimensional, D = the mean's length or `dim`) as a GaussianComponent.
GaussianComponent to_component(const ComponentConfig& c, const std::string& path,
                               std::optional<int64_t> dim) {
  if (c.mean.empty()) fail(path + ".mean", "missing; expected a list of numbers");
  const auto d = static_cast<int64_t>(c.mean.size());
  if (dim && d != *dim)
    fail(path + ".mean", "has " + std::to_string(d) + " entries, expected " + std::to_string(*dim) +
                             " (the dimension)");
  std::vector<std::string> kinds;
  if (c.iso) kinds.push_back("iso");
  if (c.diag) kinds.push_back("diag");
  if (c.full) kinds.push_back("full");
  if (c.factor) kinds.push_back("factor");
  if (kinds.size() != 1) {
    std::string got;
    for (const auto& k : kinds) got += (got.empty() ? "" : " and ") + k;
    fail(path, "give exactly one covariance key of iso, diag, full, factor (got " +
                   (got.empty() ? std::string("none") : got) + ")");
  }
  const auto mean = torch::tensor(c.mean, kF64);
  GaussianComponent out;
  if (c.iso) {
    out = GaussianComponent::isotropic(c.weight, mean, *c.iso);
  } else if (c.diag) {
    if (static_cast<int64_t>(c.diag->size()) != d)
      fail(path + ".diag", "has " + std::to_string(c.diag->size()) + " entries, expected " +
                               std::to_string(d) + " (the mean's length)");
    out = GaussianComponent::diagonal(c.weight, mean, torch::tensor(*c.diag, kF64));
  } else if (c.full) {
    out = GaussianComponent::dense(c.weight, mean, matrix(*c.full, path + ".full", d, d));
  } else {
    out = GaussianComponent::low_rank(c.weight, mean, matrix(*c.factor, path + ".factor", d, -1),
                                      0.0);
  }
  out.noise = c.noise;
  return out;
}

// The mixture's own checks (PSD, sizes) reported under the config path.
GaussianMixture build(std::vector<GaussianComponent> components, const std::string& path) {
  try {
    return GaussianMixture(std::move(components));
  } catch (const InputError& e) {
    fail(path, e.what());
  }
}

// Symmetric square root factor S^{1/2} = Q diag(sqrt(lambda)) of a PSD matrix.
torch::Tensor root(const torch::Tensor& covariance) {
  auto [values, vectors] = torch::linalg_eigh(covariance, "L");
  return vectors * values.clamp_min(0.0).sqrt();
}

// A latent component in subspace A: N(A mu, A S A^T + floor I) as a factor component.
GaussianComponent lift(const torch::Tensor& basis, double weight, const torch::Tensor& mean,
                       const torch::Tensor& latent_factor, double floor) {
  return GaussianComponent::low_rank(weight, basis.matmul(mean), basis.matmul(latent_factor),
                                     floor);
}

GaussianMixture explicit_manifolds(const DataConfig& c) {
  const std::vector<ManifoldConfig>& manifolds = c.manifolds;
  double total = 0.0;
  for (const auto& m : manifolds) total += m.weight;
  std::vector<GaussianComponent> components;
  std::optional<int64_t> dim = c.dim;
  for (std::size_t l = 0; l < manifolds.size(); ++l) {
    const std::string path = "data.manifolds[" + std::to_string(l) + "]";
    const auto& m = manifolds[l];
    if (m.basis.empty()) fail(path + ".basis", "missing; expected a D x d matrix");
    if (!dim) dim = static_cast<int64_t>(m.basis.size());
    const auto a = matrix(m.basis, path + ".basis", *dim, -1);
    const int64_t d = a.size(1);
    const double off = (a.t().matmul(a) - torch::eye(d, kF64)).abs().max().item<double>();
    if (off > 1e-6)
      fail(path + ".basis",
           "columns are not orthonormal (max |A^T A - I| = " + std::to_string(off) + ")");
    if (m.components.empty()) fail(path + ".components", "missing; expected latent components");
    std::vector<GaussianComponent> latent;
    for (std::size_t k = 0; k < m.components.size(); ++k) {
      latent.push_back(
          to_component(m.components[k], path + ".components[" + std::to_string(k) + "]", d));
    }
    const auto inner = build(latent, path + ".components");
    const auto w = inner.weights();
    for (int64_t k = 0; k < inner.num_components(); ++k) {
      components.push_back(lift(a, m.weight / total * w[k].item<double>(),
                                inner.components()[k].mean, root(inner.covariance(k)),
                                *c.noise_floor));
    }
  }
  return build(std::move(components), "data.manifolds");
}

// The seeded generator of the multi-manifold mixture (lowdim is its L = 1 case).
GaussianMixture generated_manifolds(int64_t dim, int64_t d, int64_t num_subspaces,
                                    int64_t per_subspace, double mean_scale, double std_dev,
                                    double floor, int64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  std::vector<GaussianComponent> components;
  const double weight = 1.0 / static_cast<double>(num_subspaces * per_subspace);
  for (int64_t l = 0; l < num_subspaces; ++l) {
    // A_l: orthonormal columns from the QR of a Gaussian matrix.
    const auto a = std::get<0>(torch::linalg_qr(torch::randn({dim, d}, gen, kF64)));
    for (int64_t m = 0; m < per_subspace; ++m) {
      const auto mu = mean_scale * torch::randn({d}, gen, kF64);
      const auto rotation = std::get<0>(torch::linalg_qr(torch::randn({d, d}, gen, kF64)));
      const auto u = 0.25 + 0.75 * torch::rand({d}, gen, kF64);
      // S = std^2 R diag(u) R^T, so S^{1/2} = std R diag(sqrt u).
      components.push_back(lift(a, weight, mu, std_dev * rotation * u.sqrt(), floor));
    }
  }
  return build(std::move(components), "data");
}

void require_subspace_fits(const DataConfig& c) {
  if (*c.subspace_dim > *c.dim)
    fail("data.subspace_dim",
         std::to_string(*c.subspace_dim) + " must be <= data.dim = " + std::to_string(*c.dim));
}

// shared-latent: the latent mixture and A_s drawn exactly as lowdim draws them (so
// domain source is the lowdim data of the same parameters), A_ta from a second seeded stream.
struct SharedLatent {
  torch::Tensor source, target;  // [D, d] orthonormal
  std::vector<torch::Tensor> means, roots;  // latent mu_m [d] and S_m^{1/2} [d, d]
};

SharedLatent shared_latent(const DataConfig& c) {
  const int64_t dim = *c.dim, d = *c.subspace_dim;
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(*c.seed));
  SharedLatent s;
  s.source = std::get<0>(torch::linalg_qr(torch::randn({dim, d}, gen, kF64)));
  for (int64_t m = 0; m < *c.num_components; ++m) {
    s.means.push_back(*c.mean_scale * torch::randn({d}, gen, kF64));
    const auto rotation = std::get<0>(torch::linalg_qr(torch::randn({d, d}, gen, kF64)));
    const auto u = 0.25 + 0.75 * torch::rand({d}, gen, kF64);
    s.roots.push_back(*c.std_dev * rotation * u.sqrt());
  }
  auto target_gen = torch::make_generator<at::CPUGeneratorImpl>(
      static_cast<uint64_t>(*c.seed) ^ 0x9e3779b97f4a7c15ULL);
  const auto g = torch::randn({dim, d}, target_gen, kF64);
  if (!c.angle) {
    s.target = std::get<0>(torch::linalg_qr(g));
  } else {
    // A_ta = A_s cos(theta) + B sin(theta), B orthonormal and orthogonal to A_s: then
    // A_s^T A_ta = cos(theta) I, every principal angle is theta.
    const auto b = std::get<0>(torch::linalg_qr(g - s.source.matmul(s.source.t().matmul(g))));
    const double theta = *c.angle * kPi / 180.0;
    s.target = std::cos(theta) * s.source + std::sin(theta) * b;
  }
  return s;
}

torch::Tensor two_moons(int64_t n, double noise, at::Generator gen) {
  // Two interleaved half circles (as scikit-learn's make_moons), centred at the origin.
  const auto upper = torch::randint(0, 2, {n}, gen, kF64) > 0.5;
  const auto theta = kPi * torch::rand({n}, gen, kF64);
  const auto x = torch::where(upper, theta.cos(), 1.0 - theta.cos()) - 0.5;
  const auto y = torch::where(upper, theta.sin(), 0.5 - theta.sin()) - 0.25;
  return torch::stack({x, y}, 1) + noise * torch::randn({n, 2}, gen, kF64);
}

}  // namespace

const std::vector<std::string>& data_kinds() {
  static const std::vector<std::string> kinds = {"mixture",       "ring8",         "grid5x5",
                                                 "lowdim",        "multimanifold", "shared-latent",
                                                 "two-moons",     "idx"};
  return kinds;
}

std::vector<std::string> data_parameters(const std::string& kind) {
  if (kind == "mixture") return {"dim", "components"};
  if (kind == "ring8") return {"radius", "std"};
  if (kind == "grid5x5") return {"spacing", "std"};
  if (kind == "lowdim")
    return {"dim", "subspace_dim", "num_components", "mean_scale", "std", "noise_floor", "seed"};
  if (kind == "multimanifold")
    return {"dim",        "subspace_dim", "num_subspaces", "components_per_subspace",
            "mean_scale", "std",          "noise_floor",   "seed",
            "manifolds"};
  if (kind == "shared-latent")
    return {"dim",         "subspace_dim", "num_components", "mean_scale", "std",
            "noise_floor", "seed",         "domain",         "angle"};
  if (kind == "two-moons") return {"noise"};
  if (kind == "idx") return {"path", "split", "classes", "per_class"};
  return {};
}

DataConfig resolve_data_config(const DataConfig& config) {
  DataConfig c = config;
  const auto used = data_parameters(c.kind);
  if (used.empty()) fail("data.kind", "unknown kind '" + c.kind + "'");
  for (const auto& [name, is_given] : given_keys(c)) {
    if (!is_given || std::find(used.begin(), used.end(), name) != used.end()) continue;
    std::string list;
    for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
    fail("data." + name,
         "is not a parameter of data kind '" + c.kind + "' (its parameters: " + list + ")");
  }
  if (c.kind == "mixture") {
    if (c.components.empty()) fail("data.components", "kind 'mixture' needs a list of components");
  } else if (c.kind == "ring8") {
    fill(c.radius, 4.0);
    fill(c.std_dev, 0.3);
  } else if (c.kind == "grid5x5") {
    fill(c.spacing, 2.0);
    fill(c.std_dev, 0.2);
  } else if (c.kind == "lowdim" || c.kind == "shared-latent" ||
             (c.kind == "multimanifold" && c.manifolds.empty())) {
    fill(c.dim, 16);
    fill(c.subspace_dim, 2);
    if (c.kind == "shared-latent") {
      fill<std::string>(c.domain, "source");
      if (c.angle && 2 * *c.subspace_dim > *c.dim)
        fail("data.angle", "needs 2 * subspace_dim <= dim (a target subspace orthogonal to the "
                           "source's to rotate towards)");
    }
    if (c.kind == "lowdim" || c.kind == "shared-latent") {
      fill(c.num_components, 4);
    } else {
      fill(c.num_subspaces, 3);
      fill(c.components_per_subspace, 2);
    }
    fill(c.mean_scale, 2.0);
    fill(c.std_dev, 0.5);
    fill(c.noise_floor, 1e-4);  // A S A^T is singular; the floor makes the density exist
    fill<std::int64_t>(c.seed, 0);
    require_subspace_fits(c);
  } else if (c.kind == "multimanifold") {
    for (const auto& [name, is_given] : given_keys(c)) {
      if (is_given && name != "manifolds" && name != "noise_floor" && name != "dim")
        fail("data." + name,
             "is a parameter of the generator; it is not used when "
             "data.manifolds is given");
    }
    fill(c.noise_floor, 1e-4);
  } else if (c.kind == "two-moons") {
    fill(c.noise, 0.1);
  } else if (c.kind == "idx") {
    fill<std::string>(c.path, kDefaultImageDirectory);
    fill<std::string>(c.split, "train");
  }
  return c;
}

std::optional<GaussianMixture> make_mixture(const DataConfig& config) {
  const DataConfig c = resolve_data_config(config);
  std::vector<GaussianComponent> components;
  if (c.kind == "mixture") {
    std::optional<int64_t> dim;
    if (c.dim) dim = *c.dim;
    for (std::size_t i = 0; i < c.components.size(); ++i) {
      const std::string path = "data.components[" + std::to_string(i) + "]";
      components.push_back(to_component(c.components[i], path, dim));
      if (!dim) dim = static_cast<int64_t>(c.components[i].mean.size());
    }
    return build(std::move(components), "data.components");
  }
  if (c.kind == "ring8") {
    for (int k = 0; k < 8; ++k) {
      const double angle = 2.0 * kPi * k / 8.0;
      const auto mean =
          torch::tensor({*c.radius * std::cos(angle), *c.radius * std::sin(angle)}, kF64);
      components.push_back(GaussianComponent::isotropic(1.0, mean, *c.std_dev * *c.std_dev));
    }
    return build(std::move(components), "data");
  }
  if (c.kind == "grid5x5") {
    for (int i = -2; i <= 2; ++i) {
      for (int j = -2; j <= 2; ++j) {
        const auto mean = torch::tensor({*c.spacing * i, *c.spacing * j}, kF64);
        components.push_back(GaussianComponent::isotropic(1.0, mean, *c.std_dev * *c.std_dev));
      }
    }
    return build(std::move(components), "data");
  }
  if (c.kind == "lowdim")
    return generated_manifolds(*c.dim, *c.subspace_dim, 1, *c.num_components, *c.mean_scale,
                               *c.std_dev, *c.noise_floor, *c.seed);
  if (c.kind == "shared-latent") {
    const SharedLatent s = shared_latent(c);
    const auto& basis = *c.domain == "target" ? s.target : s.source;
    const double weight = 1.0 / static_cast<double>(s.means.size());
    for (std::size_t m = 0; m < s.means.size(); ++m)
      components.push_back(lift(basis, weight, s.means[m], s.roots[m], *c.noise_floor));
    return build(std::move(components), "data");
  }
  if (c.kind == "multimanifold") {
    if (!c.manifolds.empty()) return explicit_manifolds(c);
    return generated_manifolds(*c.dim, *c.subspace_dim, *c.num_subspaces,
                               *c.components_per_subspace, *c.mean_scale, *c.std_dev,
                               *c.noise_floor, *c.seed);
  }
  return std::nullopt;  // two-moons, idx: no exact mixture
}

torch::Tensor sample_data(const DataConfig& config, std::int64_t n, at::Generator generator) {
  const DataConfig c = resolve_data_config(config);
  require(n >= 0, "sample_data: n must be >= 0, got " + std::to_string(n));
  if (c.kind == "idx")
    fail("data.kind", "'idx' is image data, not a sampler; load it with load_image_data");
  if (c.kind == "two-moons") return two_moons(n, *c.noise, generator);
  return make_mixture(c)->sample(n, generator).x;
}

std::optional<torch::Tensor> data_subspace_basis(const DataConfig& config) {
  const DataConfig c = resolve_data_config(config);
  if (c.kind == "shared-latent") {
    const SharedLatent s = shared_latent(c);
    return *c.domain == "target" ? s.target : s.source;
  }
  if (c.kind == "lowdim") {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(*c.seed));
    return std::get<0>(torch::linalg_qr(torch::randn({*c.dim, *c.subspace_dim}, gen, kF64)));
  }
  return std::nullopt;
}

std::optional<GaussianMixture> latent_mixture(const DataConfig& config) {
  const DataConfig c = resolve_data_config(config);
  if (c.kind != "shared-latent") return std::nullopt;
  const SharedLatent s = shared_latent(c);
  std::vector<GaussianComponent> components;
  const double weight = 1.0 / static_cast<double>(s.means.size());
  for (std::size_t m = 0; m < s.means.size(); ++m)
    components.push_back(GaussianComponent::dense(
        weight, s.means[m],
        s.roots[m].matmul(s.roots[m].t()) +
            *c.noise_floor * torch::eye(*c.subspace_dim, kF64)));
  return build(std::move(components), "data");
}

ImageDataset load_image_data(const DataConfig& config) {
  const DataConfig c = resolve_data_config(config);
  if (c.kind != "idx") fail("data.kind", "'" + c.kind + "' is not image data (expected idx)");
  ImageDataset data = load_idx_dataset(*c.path, *c.split);
  if (!c.classes.empty()) data = select_classes(data, c.classes);
  if (c.per_class) data = first_n_per_class(data, *c.per_class);
  return data;
}

}  // namespace diffuse
