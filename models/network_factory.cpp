#include "models/network_factory.h"

#include "core/base/errors.h"
#include "models/consistency.h"
#include "models/linear.h"
#include "models/mlp.h"
#include "models/subspace.h"
#include "models/two_layer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace diffuse {

namespace {

double four_digits(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return std::strtod(text, nullptr);
}

// The raw network of a kind in `dim` dimensions.
std::shared_ptr<RawNetworkImpl> raw_network(const std::string& kind, const ModelConfig& c,
                                            std::int64_t dim) {
  const NoiseEmbeddingOptions embedding{c.time_embedding, c.embedding_dim, c.fourier_scale};
  const bool diagonal = c.matrix == "diag";
  if (kind == "linear") return LinearNet(dim, c.hidden, embedding, diagonal).ptr();
  if (kind == "two-layer")
    return TwoLayerNet(dim, c.components, c.hidden, embedding, diagonal).ptr();
  if (kind == "mlp")
    return MlpNet(dim, c.width, c.depth, embedding, c.layer_norm, c.num_classes).ptr();
  throw InputError("model.latent = '" + kind + "': expected linear, two-layer or mlp");
}

NetworkModelPtr with_subspace(const std::string& kind, const std::string& latent_kind,
                              const ModelConfig& c, const ProcessPtr& process,
                              const Preconditioner& pre, const torch::Tensor& init_data) {
  require(c.rank.has_value(), "model.kind = " + kind + " needs model.rank (the latent "
                                  "dimension d of the D x d basis)");
  const std::int64_t dim = *c.dim, rank = *c.rank;
  const auto basis = initial_basis(
      dim, rank, c.basis_init == "pca" ? init_data : torch::Tensor());
  auto latent = std::make_shared<PreconditionedModel>(latent_kind,
                                                      raw_network(latent_kind, c, rank), pre,
                                                      process);
  return std::make_shared<SubspaceModel>(kind, std::move(latent), basis, process);
}

}  // namespace

bool is_network_kind(const std::string& kind) {
  return kind == "linear" || kind == "two-layer" || kind == "mlp" || kind == "subspace";
}

ModelConfig resolve_model_config(ModelConfig config, const ForwardProcess& process,
                                 const torch::Tensor& data_sample) {
  config.parameterization = resolve_parameterization(config.parameterization, process);
  if (data_sample.defined()) {
    const auto x = data_sample.reshape({data_sample.size(0), -1}).to(torch::kFloat64);
    if (!config.dim) config.dim = static_cast<int>(x.size(1));
    require(*config.dim == x.size(1), "model.dim = " + std::to_string(*config.dim) +
                                          " but the data has " + std::to_string(x.size(1)) +
                                          " dimensions");
    if (!config.sigma_data)
      config.sigma_data = four_digits(x.square().mean().sqrt().item<double>());
  }
  return config;
}

NetworkModelPtr make_network(const ModelConfig& c, const ProcessPtr& process,
                             const torch::TensorOptions& options, const torch::Tensor& init_data) {
  require(is_network_kind(c.kind), "model.kind = '" + c.kind + "' is not a trained network");
  require(c.dim.has_value() && c.sigma_data.has_value() && c.parameterization != "auto",
          "make_network: the model config is not resolved (dim, sigma_data, parameterization)");
  require(c.num_classes == 0 || c.kind == "mlp",
          "model.num_classes = " + std::to_string(c.num_classes) + " needs model.kind mlp (the "
          "label embedding joins its noise embedding); '" + c.kind + "' is unconditional");
  const Preconditioner pre(c.parameterization, *c.sigma_data);
  NetworkModelPtr model;
  if (c.kind == "subspace") {
    model = with_subspace("subspace", c.latent, c, process, pre, init_data);
  } else if (c.kind == "linear" && c.rank) {
    model = with_subspace("linear", "linear", c, process, pre, init_data);  // low-rank form
  } else {
    model = std::make_shared<PreconditionedModel>(c.kind, raw_network(c.kind, c, *c.dim), pre,
                                                  process);
  }
  if (c.consistency) model = std::make_shared<ConsistencyModel>(model, process, *c.sigma_data);
  model->module()->to(options.device(), options.dtype().toScalarType());
  return model;
}

}  // namespace diffuse
