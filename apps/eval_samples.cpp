#include "apps/eval_samples.h"

#include "core/errors.h"
#include "core/knn_divergence.h"
#include "core/metrics.h"
#include "core/mixture_config.h"
#include "core/npy.h"
#include "core/runtime.h"
#include "core/subspace_distance.h"

namespace diffuse::cli {

namespace {

constexpr int kKnnNeighbours = 1;

// Drawn after the other metrics' draws, so their values do not change with these additions.
void add_low_dimensional_metrics(nlohmann::json& record, const GaussianMixture& mixture,
                                 const torch::Tensor& samples, at::Generator generator) {
  const auto x = samples.index({torch::isfinite(samples).all(1)});
  const auto subspaces = component_subspaces(mixture);
  if (!subspaces.empty()) record["subspace_distance"] = mean_subspace_distance(subspaces, x);
  if (mixture.dim() <= kKnnMaxDim) {
    const auto reference = mixture.sample(x.size(0), generator).x;
    record["knn_kl"] = knn_kl_divergence(x, reference, kKnnNeighbours);
    record["knn_kl_neighbours"] = kKnnNeighbours;
  }
}

}  // namespace

nlohmann::json evaluate_mixture_samples(const RunConfig& config, const torch::Tensor& samples,
                                        const std::string& name) {
  const auto mixture = make_mixture(config.data);
  if (!mixture)
    throw InputError("eval: data.kind = " + config.data.kind +
                     " has no exact mixture to measure against");
  const auto x = samples.to(torch::kFloat64);
  require_shape(x, {kAnyDim, mixture->dim()}, name);
  auto generator = make_generator(static_cast<std::uint64_t>(config.metrics.seed));
  auto record = evaluate_against_mixture(*mixture, x, config.metrics, generator);
  add_low_dimensional_metrics(record, *mixture, x, generator);
  return record;
}

}  // namespace diffuse::cli
