// Builds the trained-network kinds of `model:` (linear, two-layer, mlp, subspace) from a resolved
// ModelConfig. make_model (models/model_factory.h) builds ready-to-sample models; a network
// needs weights, so it comes from `diffuse train` and load_model (models/checkpoint.h).
//
//   ModelConfig m = resolve_model_config(config.model, *process, data_sample);
//   NetworkModelPtr net = make_network(m, process, options, data_sample);  // PCA-initialised basis
#pragma once

#include "models/model_factory.h"
#include "models/network.h"

#include <string>

namespace diffuse {

bool is_network_kind(const std::string& kind);

// Fills what a network needs and a config may leave open: the parameterization (auto -> the
// process's convention), dim and sigma_data (the RMS of data_sample [n, D...], 4 digits).
ModelConfig resolve_model_config(ModelConfig config, const ForwardProcess& process,
                                 const torch::Tensor& data_sample);

// A freshly initialised network (LibTorch's global generator) on options' device and dtype.
// init_data [n, D] seeds model.basis_init = pca; undefined: a random basis (e.g. before loading
// a checkpoint). InputError for a config that is not resolved or names no network kind.
NetworkModelPtr make_network(const ModelConfig& config, const ProcessPtr& process,
                             const torch::TensorOptions& options,
                             const torch::Tensor& init_data = {});

}  // namespace diffuse
