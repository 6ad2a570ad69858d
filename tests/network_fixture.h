// Networks for tests. drawn_mlp: a small network whose output depends on every layer, the
// residual mlp (width 64, depth 2, 8-d data, eps prediction) with every weight drawn from
// N(0, std^2), its zero-initialised output layers included; expect_equal_weights compares two.
#pragma once

#include "models/network_factory.h"

#include <gtest/gtest.h>

#include <string>

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

// Every parameter of a equal to b's, bit for bit; `what` names the comparison.
inline void expect_equal_weights(const NetworkModel& a, const NetworkModel& b, const std::string& what) {
  const auto pa = a.module()->named_parameters(), pb = b.module()->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa)
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << what << ": " << item.key();
}

}  // namespace diffuse::testing
