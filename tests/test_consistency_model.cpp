// The consistency-model parameterization (Song et al. 2023, eq. 7): f(x, t_min) = x
// exactly, by construction, for every process and backbone; the coefficients are the paper's for
// edm; a consistency network keeps the checkpoint layout of its backbone; DSM training refuses it.
#include "core/base/errors.h"
#include "models/consistency.h"
#include "models/network_factory.h"
#include "tests/cli_runner.h"
#include "tests/sampler_checks.h"
#include "tests/train_fixture.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuse::testing {
namespace {

ModelConfig consistency_config(const std::string& kind) {
  ModelConfig c;
  c.kind = kind;
  c.width = 16;
  c.depth = 2;
  c.hidden = 8;
  c.components = 3;
  c.embedding_dim = 8;
  c.dim = 4;
  c.sigma_data = 0.8;
  c.consistency = true;
  if (kind == "subspace") c.rank = 2;
  return c;
}

// Random weights everywhere (the mlp's output layer starts at zero, which would hide F).
void randomise(NetworkModel& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.module()->parameters()) p.normal_(0.0, 0.5);
}

using Case = std::tuple<std::string, std::string>;  // process, backbone
class BoundaryCondition : public ::testing::TestWithParam<Case> {};

TEST_P(BoundaryCondition, HoldsExactlyAtTMinAndNowhereElse) {
  const auto& [process_kind, kind] = GetParam();
  const auto process = process_of(process_kind);
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    auto c = consistency_config(kind);
    c.parameterization = default_parameterization(*process);
    torch::manual_seed(3);
    const auto f = make_network(c, process, torch::TensorOptions().dtype(dtype));
    randomise(*f);
    // t_min at several places of a batch of other times: the exact path must not depend on it.
    const std::int64_t b = 37;
    auto t = torch::linspace(process->t_min(), process->t_max(), b, torch::kFloat64);
    for (const std::int64_t i : {0, 1, 8, 17, 35, 36}) t[i] = process->t_min();
    const auto x = torch::randn({b, 4}, dtype) * 2.0;
    torch::Tensor out;
    {
      torch::NoGradGuard no_grad;
      out = f->forward(x, t);
    }
    const auto at_min = t == process->t_min();
    EXPECT_TRUE(torch::equal(out.index({at_min}), x.index({at_min})))
        << process_kind << " " << kind << " " << dtype;
    // Elsewhere the network moves x (else the test above would hold trivially).
    const auto moved = (out - x).abs().sum(1).index({~at_min});
    EXPECT_GT(moved.min().item<double>(), 0.0) << process_kind << " " << kind << " " << dtype;
  }
}

INSTANTIATE_TEST_SUITE_P(ProcessesAndBackbones, BoundaryCondition,
                         ::testing::Combine(::testing::Values("edm", "rf", "vp-linear", "ve"),
                                            ::testing::Values("mlp", "linear", "two-layer",
                                                              "subspace")),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name =
                               std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           for (auto& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

TEST(ConsistencyCoefficients, AreThePapersForEdm) {
  const auto process = process_of("edm");
  const double sd = 0.5, eps = process->t_min();
  const auto t = torch::tensor({0.002, 0.01, 0.5, 2.0, 80.0}, torch::kFloat64);
  const auto like = torch::zeros({5, 3}, torch::kFloat64);
  const auto c = consistency_coefficients(*process, t, like, sd);
  for (int i = 0; i < 5; ++i) {
    const double s = t[i].item<double>();
    const double c_skip = sd * sd / ((s - eps) * (s - eps) + sd * sd);
    const double c_out = (s - eps) * sd / std::sqrt(sd * sd + s * s);
    EXPECT_NEAR(c.c_skip[i][0].item<double>(), c_skip, 1e-14) << s;
    // c_out multiplies x0_hat = sigma_data F in our form.
    EXPECT_NEAR(c.c_out[i][0].item<double>() * sd, c_out, 1e-14) << s;
  }
  EXPECT_EQ(c.c_skip[0][0].item<double>(), 1.0);
  EXPECT_EQ(c.c_out[0][0].item<double>(), 0.0);
  EXPECT_LT(c.c_skip[4][0].item<double>(), 1e-4);  // at t_max f is almost all network
}

TEST(ConsistencyCoefficients, CarryXToTheScaleOfXAtTMinUnderVp) {
  // In s = sigma / alpha, with r = alpha_min / alpha carrying x / alpha to the scale of x_{t_min}.
  const auto process = process_of("vp-linear");
  const auto t = torch::tensor({0.5}, torch::kFloat64);
  const auto c = consistency_coefficients(*process, t, torch::zeros({1, 2}, torch::kFloat64), 1.0);
  const double a = process->alpha(0.5), s = process->sigma(0.5) / a;
  const double a0 = process->alpha(process->t_min());
  const double s0 = process->sigma(process->t_min()) / a0;
  EXPECT_NEAR(c.c_skip[0][0].item<double>(), (a0 / a) / ((s - s0) * (s - s0) + 1.0), 1e-12);
  EXPECT_NEAR(c.c_out[0][0].item<double>(), a0 * (s - s0) / std::sqrt(1.0 + s * s), 1e-12);
}

TEST(ConsistencyNetwork, KeepsTheBackbonesCheckpointLayout) {
  const auto process = process_of("edm");
  auto c = consistency_config("mlp");
  c.parameterization = "edm";
  const auto f = make_network(c, process, torch::kFloat32);
  c.consistency = false;
  const auto plain = make_network(c, process, torch::kFloat32);
  EXPECT_EQ(f->parameterization(), Parameterization::x0);
  EXPECT_EQ(f->kind(), "mlp");
  EXPECT_NE(f->describe().find("consistency"), std::string::npos);
  const auto a = f->module()->named_parameters(), b = plain->module()->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) EXPECT_NE(b.find(item.key()), nullptr) << item.key();
}

TEST(ConsistencyNetwork, DenoisingScoreMatchingRefusesIt) {
  TempDir dir;
  auto setup = tiny_ring_setup(dir.path().string());
  setup.model.consistency = true;
  try {
    Trainer trainer(setup);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("diffuse distill"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace diffuse::testing
