// Small training set-ups shared by the trainer and checkpoint suites: a tiny mlp on the 8-Gaussian
// ring that trains in well under a second on one CPU thread.
#pragma once

#include "core/base/config.h"
#include "train/trainer/trainer.h"

#include <string>

namespace diffuse::testing {

inline TrainSetup tiny_ring_setup(const std::string& out, const std::string& kind = "mlp") {
  TrainSetup s;
  s.seed = 5;
  s.process.kind = "vp-linear";
  s.data.kind = "ring8";
  s.model.kind = kind;
  s.model.width = 32;
  s.model.depth = 2;
  s.model.hidden = 16;
  s.model.components = 4;
  s.model.embedding_dim = 16;
  s.train.steps = 20;
  s.train.batch_size = 64;
  s.train.lr = 2e-3;
  s.train.warmup = 5;
  s.train.log_every = 5;
  s.train.checkpoint_every = 10;
  s.train.eval_size = 256;
  s.train.out = out;
  s.options = torch::TensorOptions().dtype(torch::kFloat32);
  s.config = YAML::Node(YAML::NodeType::Map);
  s.config["seed"] = 5;
  s.config["process"] = config::to_node(s.process);
  s.config["data"] = config::to_node(s.data);
  s.config["model"] = config::to_node(s.model);
  s.config["train"] = config::to_node(s.train);
  return s;
}

// The same run as a YAML config file for the command-line tests.
inline std::string tiny_ring_yaml(const std::string& out) {
  return "seed: 5\n"
         "process: {kind: vp-linear}\n"
         "data: {kind: ring8}\n"
         "model: {kind: mlp, width: 32, depth: 2, embedding_dim: 16}\n"
         "sampler: {name: heun, steps: 5}\n"
         "sample: {num_samples: 64, batch_size: 64}\n"
         "train: {steps: 20, batch_size: 64, lr: 0.002, warmup: 5, log_every: 5,\n"
         "        checkpoint_every: 10, eval_size: 256, out: '" + out + "'}\n";
}

}  // namespace diffuse::testing
