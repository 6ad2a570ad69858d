#include "apps/eval/samples.h"

#include "core/base/errors.h"
#include "core/base/format.h"
#include "core/base/runtime.h"
#include "core/data/mixture_config.h"
#include "core/io/npy.h"
#include "core/metrics/knn_divergence.h"
#include "core/metrics/metrics.h"
#include "core/metrics/noised_kl.h"
#include "core/metrics/subspace_distance.h"
#include "core/process/process.h"

namespace diffuse {

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

// KL(samples || q_t) and the same estimate on exact draws of q_t, drawn last for the same reason.
void add_noised_kl(nlohmann::json& record, const RunConfig& config, const GaussianMixture& mixture,
                   const torch::Tensor& samples, double t, at::Generator generator) {
  const auto process = make_process(config.process);
  require(t >= process->t_min() && t <= process->t_max(),
          "eval: --noised-to " + format_number(t) + " is outside the process's time range [" +
              format_number(process->t_min()) + ", " + format_number(process->t_max()) + "]");
  const double alpha = process->alpha(t), sigma = process->sigma(t);
  const auto kl = noised_kl(mixture, alpha, sigma, samples);
  const auto exact = mixture.noised(alpha, sigma).sample(samples.size(0), generator).x;
  const auto floor = noised_kl(mixture, alpha, sigma, exact);
  record["noised_kl"] = {{"time", t},
                         {"alpha", alpha},
                         {"sigma", sigma},
                         {"kl", kl.total},
                         {"subspace", kl.subspace},
                         {"complement", kl.complement},
                         {"complement_variance_ratio", kl.complement_variance_ratio},
                         {"subspace_dim", kl.subspace_dim},
                         {"floor", floor.total},
                         {"floor_subspace", floor.subspace},
                         {"floor_complement", floor.complement}};
}

}  // namespace

nlohmann::json evaluate_mixture_samples(const RunConfig& config, const torch::Tensor& samples,
                                        const std::string& name, std::optional<double> noised_to) {
  const auto mixture = make_mixture(config.data);
  if (!mixture)
    throw InputError("eval: data.kind = " + config.data.kind +
                     " has no exact mixture to measure against");
  const auto x = samples.to(torch::kFloat64);
  require_shape(x, {kAnyDim, mixture->dim()}, name);
  auto generator = make_generator(static_cast<std::uint64_t>(config.metrics.seed));
  auto record = evaluate_against_mixture(*mixture, x, config.metrics, generator);
  add_low_dimensional_metrics(record, *mixture, x, generator);
  if (noised_to) add_noised_kl(record, config, *mixture, x, *noised_to, generator);
  return record;
}

}  // namespace diffuse
