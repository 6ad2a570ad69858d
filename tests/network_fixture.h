// A small network for tests that need one whose output depends on every layer: the residual
// mlp (width 64, depth 2, 8-d data, eps prediction) with every weight drawn from N(0, std^2),
// its zero-initialised output layers included.
#pragma once

#include "models/network_factory.h"

namespace diffuse::testing {

inline NetworkModelPtr drawn_mlp(const ProcessPtr& process, double std) {
  ModelConfig c;
  c.kind = "mlp";
  c.width = 64;
  c.depth = 2;
  c.dim = 8;
  c.sigma_data = 1.0;
  c.parameterization = "eps";
  torch::manual_seed(0);
  const auto model = make_network(c, process, torch::kFloat32);
  torch::NoGradGuard no_grad;
  for (auto& p : model->module()->parameters()) p.normal_(0.0, std);
  return model;
}

}  // namespace diffuse::testing
