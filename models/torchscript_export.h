// `diffuse export`: a diffuse-trained network as a TorchScript module that any PyTorch program can
// torch.jit.load. C++ torch::nn modules cannot be scripted, so the exporter builds a
// torch::jit::Module by hand: the network's parameters and buffers under their checkpoint names
// (dots as underscores), and TorchScript source (Module::define) that mirrors the network's
// forward and its preconditioning (models/preconditioning.h, Karras et al. 2022, Table 1), with
// the process's alpha(t), sigma(t) written out. Its forward(x [B, ...], t [B]) (plus labels [B]
// for a class-conditional network) returns the model's output in its parameterization, like
// ScoreModel::forward. Attributes: prediction, kind, process (YAML), shape (per sample),
// num_classes, sigma_data, so `model.kind: torchscript` needs nothing more than the path.
//
// Supported today: the kinds linear (full, diagonal or low-rank), two-layer, mlp (class-
// conditional or not) and subspace (its latent network preconditioned inside, the basis's QR in
// the module), not consistency models; processes vp-linear, vp-cosine, vp-ou, ve, ve-geometric,
// edm and rf (not the discrete ddpm kinds); others are an InputError naming what is supported.
//
//   torch::jit::Module ts = export_torchscript(*loaded.model, loaded.model_config,
//                                              loaded.process_config, {1, 28, 28});
//   save_torchscript(ts, "model.ts");
#pragma once

#include "core/process/process.h"
#include "models/model_factory.h"
#include "models/network.h"

#include <torch/script.h>

#include <string>
#include <vector>

namespace diffuse {

// config: the resolved model config (parameterization and sigma_data set, as in a checkpoint).
// shape: the per-sample shape the module's x has (its product the network's dimension).
torch::jit::Module export_torchscript(const NetworkModel& model, const ModelConfig& config,
                                      const ProcessConfig& process,
                                      const std::vector<std::int64_t>& shape);

// Writes the module to `path` atomically (core/io/atomic_file.h).
void save_torchscript(const torch::jit::Module& module, const std::string& path);

}  // namespace diffuse
