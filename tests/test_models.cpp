// The trained-network kinds: output shapes, declared parameterizations per process, the
// preconditioning at initialisation, the subspace form's orthogonal part, finite outputs over a
// process's whole time range.
#include "core/base/errors.h"
#include "core/process/process.h"
#include "models/denoiser.h"
#include "models/mlp.h"
#include "models/model_factory.h"
#include "models/network_factory.h"
#include "models/preconditioning.h"
#include "models/subspace.h"
#include "tests/process_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace diffuse {
namespace {

using testing::process_of;

ModelConfig small_config(const std::string& kind, const ForwardProcess& process, int dim) {
  ModelConfig c;
  c.kind = kind;
  c.width = 32;
  c.depth = 2;
  c.hidden = 16;
  c.components = 3;
  c.embedding_dim = 16;
  c.dim = dim;
  c.sigma_data = 1.5;
  c.parameterization = resolve_parameterization("auto", process);
  return c;
}

struct KindCase {
  std::string kind;
  std::optional<int> rank;
  std::string latent = "mlp";
  std::string matrix = "full";
};

class ModelKinds : public ::testing::TestWithParam<KindCase> {};

TEST_P(ModelKinds, OutputShapeAndParameterizationForEveryProcessConvention) {
  const std::pair<const char*, Parameterization> cases[] = {
      {"vp-linear", Parameterization::eps},
      {"edm", Parameterization::x0},
      {"rf", Parameterization::velocity},
      {"ve", Parameterization::score}};
  for (const auto& [process_kind, expected] : cases) {
    const auto process = process_of(process_kind);
    auto config = small_config(GetParam().kind, *process, 4);
    config.rank = GetParam().rank;
    config.latent = GetParam().latent;
    config.matrix = GetParam().matrix;
    torch::manual_seed(0);
    const auto model = make_network(config, process, torch::kFloat32);
    EXPECT_EQ(model->parameterization(), expected) << process_kind;
    EXPECT_EQ(model->kind(), GetParam().kind);
    const auto x = torch::randn({5, 4});
    const auto t = process->t_min() + torch::rand({5}) * (process->t_max() - process->t_min());
    const auto out = model->forward(x, t);
    EXPECT_EQ(out.sizes(), x.sizes()) << process_kind;
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << process_kind;
    EXPECT_FALSE(model->describe().empty());
    EXPECT_GT(model->module()->parameters().size(), 0u);
  }
}

// Moves every weight off its initial value: an mlp's output layers start at zero, which would
// make any two evaluation paths agree trivially.
void randomise_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& w : module.parameters()) w.copy_(torch::randn_like(w) * 0.3);
}

// A sampler's step evaluates forward_at(x, t) with one host time for the whole batch; it must be
// forward(x, t [B]) for every kind, parameterization and process, up to float64 rounding, also
// at the ends of the time range (rf's alpha = 0 at t_max).
TEST_P(ModelKinds, SharedTimeEvaluationEqualsPerSampleTimes) {
  for (const char* process_kind : {"vp-linear", "edm", "rf", "ve", "ddpm"}) {
    const auto process = process_of(process_kind);
    for (const char* name : {"eps", "x0", "v", "velocity", "score", "edm"}) {
      auto config = small_config(GetParam().kind, *process, 4);
      config.rank = GetParam().rank;
      config.latent = GetParam().latent;
      config.matrix = GetParam().matrix;
      config.parameterization = name;
      torch::manual_seed(1);
      const auto model = make_network(config, process, torch::kFloat64);
      randomise_weights(*model->module());
      const auto x = torch::randn({3, 4}, torch::kFloat64);
      const double span = process->t_max() - process->t_min();
      for (const double t : {process->t_min(), process->t_min() + 0.3 * span, process->t_max()}) {
        const auto shared = model->forward_at(x, t);
        const auto per_sample = model->forward(x, torch::full({3}, t, torch::kFloat64));
        const double scale = per_sample.abs().max().item<double>();
        EXPECT_TRUE(torch::allclose(shared, per_sample, 1e-12, 1e-12 * (1.0 + scale)))
            << process_kind << " " << name << " t=" << t << ": largest difference "
            << (shared - per_sample).abs().max().item<double>();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Model, ModelKinds,
    ::testing::Values(KindCase{"linear", {}}, KindCase{"linear", {}, "mlp", "diag"},
                      KindCase{"linear", 2}, KindCase{"two-layer", {}},
                      KindCase{"two-layer", {}, "mlp", "diag"}, KindCase{"mlp", {}},
                      KindCase{"subspace", 2, "mlp"}, KindCase{"subspace", 3, "two-layer"},
                      KindCase{"subspace", 1, "linear"}),
    [](const auto& info) {
      std::string name = info.param.kind + (info.param.rank ? "_rank" : "") + "_" +
                         info.param.latent + "_" + info.param.matrix;
      for (auto& ch : name)
        if (ch == '-') ch = '_';
      return name;
    });

TEST(ModelTest, ImageShapedInputKeepsItsShape) {
  const auto process = process_of("vp-linear");
  const auto model = make_network(small_config("mlp", *process, 12), process, torch::kFloat32);
  const auto x = torch::randn({3, 3, 4});
  EXPECT_EQ(model->forward(x, torch::full({3}, 0.5)).sizes(), x.sizes());
}

TEST(ModelTest, ConfiguredParameterizationOverridesTheProcessDefault) {
  const auto process = process_of("vp-linear");
  for (const char* name : {"x0", "v", "velocity", "score", "eps"}) {
    auto config = small_config("mlp", *process, 2);
    config.parameterization = name;
    EXPECT_EQ(to_string(make_network(config, process, torch::kFloat32)->parameterization()),
              name);
  }
  auto config = small_config("mlp", *process, 2);
  config.parameterization = "edm";
  EXPECT_EQ(make_network(config, process, torch::kFloat32)->parameterization(),
            Parameterization::x0);
}

// The mlp's output layer starts at zero, so an EDM model starts as D(x) = c_skip x with
// c_skip = sigma_data^2 / (sigma^2 + sigma_data^2) (Karras et al. 2022, Table 1).
TEST(ModelTest, EdmModelStartsAtTheSkipConnection) {
  const auto process = process_of("edm");
  const auto config = small_config("mlp", *process, 3);
  const auto model = make_network(config, process, torch::kFloat64);
  const auto x = torch::randn({4, 3}, torch::kFloat64);
  const auto sigma = torch::tensor({0.01, 0.5, 2.0, 80.0}, torch::kFloat64);
  const double sd2 = 1.5 * 1.5;
  const auto expected = sd2 / (sigma * sigma + sd2).unsqueeze(1) * x;
  EXPECT_TRUE(torch::allclose(model->forward(x, sigma), expected, 1e-12, 1e-12));
}

TEST(ModelPreconditioningTest, EdmRowMatchesTableOne) {
  const Preconditioner pre("edm", 0.5);
  const auto sigma = torch::tensor({{0.002}, {1.0}, {80.0}}, torch::kFloat64);
  const auto one = torch::ones_like(sigma);
  const auto p = pre.at({one, sigma, torch::zeros_like(sigma), one});
  const auto root = (sigma * sigma + 0.25).sqrt();
  EXPECT_TRUE(torch::allclose(p.c_skip, 0.25 / (sigma * sigma + 0.25)));
  EXPECT_TRUE(torch::allclose(p.c_out, sigma * 0.5 / root));
  EXPECT_TRUE(torch::allclose(p.c_in, 1.0 / root));
  EXPECT_TRUE(torch::allclose(p.c_noise, sigma.log().reshape({-1}) / 4));
  EXPECT_TRUE(torch::allclose(edm_loss_weight({one, sigma, one, one}, 0.5),
                              (sigma * sigma + 0.25) / (sigma * 0.5).square()));
}

// The Denoiser's shared-time path (host coefficients, forward_at) against its per-sample path,
// in float64 to rounding and in float32 to float32 rounding.
TEST(ModelTest, DenoiserSharedTimeEqualsPerSampleTimes) {
  for (const char* process_kind : {"vp-linear", "edm", "rf", "ve"}) {
    const auto process = process_of(process_kind);
    for (const char* name : {"eps", "x0", "v", "velocity", "score", "edm"}) {
      for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
        auto config = small_config("mlp", *process, 3);
        config.parameterization = name;
        torch::manual_seed(2);
        const auto model = make_network(config, process, dtype);
        randomise_weights(*model->module());
        const Denoiser denoiser(model, process);
        const auto x = torch::randn({4, 3}, dtype) * process->prior_std();
        const double t = process->t_min() + 0.6 * (process->t_max() - process->t_min());
        const auto shared = denoiser.predict(x, t);
        const auto per_sample = denoiser.predict(x, torch::full({4}, t, torch::kFloat64));
        const double rtol = dtype == torch::kFloat64 ? 1e-11 : 1e-4;
        for (const auto& [a, b] : {std::pair{shared.x0, per_sample.x0},
                                   std::pair{shared.eps, per_sample.eps}}) {
          const double scale = b.abs().max().item<double>();
          EXPECT_TRUE(torch::allclose(a, b, rtol, rtol * scale))
              << process_kind << " " << name << " " << dtype << ": largest difference "
              << (a - b).abs().max().item<double>() << " of " << scale;
        }
      }
    }
  }
}

// A raw network that records the rows of c_noise it is given: F = c_noise, one per row.
class NoiseRowsProbe : public RawNetworkImpl {
 public:
  explicit NoiseRowsProbe(bool shares) : shares_(shares) {}
  torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) override {
    rows.push_back(c_noise.size(0));
    return torch::zeros_like(x_in) + c_noise.reshape({-1, 1});
  }
  std::string describe() const override { return "probe"; }
  bool shares_noise_path() const override { return shares_; }
  std::vector<std::int64_t> rows;

 private:
  bool shares_;
};

// A batch at one time gives a network that shares its noise path one noise level, [1], and
// every other network one per row; per-sample times always get one per row.
TEST(ModelTest, SharedTimeGivesOneNoiseLevelOnlyToANetworkThatSharesItsNoisePath) {
  const auto process = process_of("vp-linear");
  const auto x = torch::randn({5, 3}, torch::kFloat64);
  for (const bool shares : {true, false}) {
    const auto probe = std::make_shared<NoiseRowsProbe>(shares);
    PreconditionedModel model("probe", probe, Preconditioner("eps", 1.0), process);
    const auto shared = model.forward_at(x, 0.4);
    const auto per_sample = model.forward(x, torch::full({5}, 0.4, torch::kFloat64));
    EXPECT_EQ(probe->rows, (std::vector<std::int64_t>{shares ? 1 : 5, 5})) << shares;
    EXPECT_EQ(shared.sizes(), x.sizes());
    EXPECT_TRUE(torch::allclose(shared, per_sample, 1e-14, 1e-14)) << shares;
  }
}

// The mlp broadcasts its noise path: c_noise [1] is c_noise repeated per row, for an
// unconditional and a class-conditional network (whose label embedding is per row).
TEST(ModelTest, MlpWithOneNoiseLevelEqualsItRepeatedPerRow) {
  for (const std::int64_t classes : {0, 4}) {
    torch::manual_seed(3);
    MlpNet net(6, 32, 2, NoiseEmbeddingOptions{}, /*layer_norm=*/true, classes);
    net->to(torch::kFloat64);
    randomise_weights(*net);
    ASSERT_TRUE(net->shares_noise_path());
    const auto x = torch::randn({7, 6}, torch::kFloat64);
    const auto one = torch::full({1}, 0.3, torch::kFloat64);
    const auto shared = net->forward(x, one);
    const auto per_row = net->forward(x, one.expand({7}).contiguous());
    ASSERT_EQ(shared.sizes(), per_row.sizes());
    EXPECT_TRUE(torch::allclose(shared, per_row, 1e-12, 1e-12)) << classes;
    EXPECT_GT(per_row.abs().max().item<double>(), 1e-3);  // not trivially zero
  }
}

// The host-double scalings are the tensor scalings, row by row, for every parameterization.
TEST(ModelPreconditioningTest, ScalarScalingsEqualTensorScalings) {
  for (const char* process_kind : {"vp-linear", "edm", "rf", "ve"}) {
    const auto process = process_of(process_kind);
    for (const char* name : {"eps", "x0", "v", "velocity", "score", "edm"}) {
      const Preconditioner pre(name, 0.7);
      for (const double t : {process->t_min(), 0.5 * (process->t_min() + process->t_max()),
                             process->t_max()}) {
        const auto scalar = pre.at(coefficients_at(*process, t, true));
        const auto row = torch::full({1, 1}, t, torch::kFloat64);
        const auto tensor = pre.at(coefficients_at(*process, row.reshape({-1}), row));
        const auto near = [](double a, const torch::Tensor& b) {
          const double v = b.item<double>();
          return std::abs(a - v) <= 1e-13 * std::max(1.0, std::abs(v));
        };
        const std::string at = std::string(process_kind) + " " + name + " t=" + std::to_string(t);
        EXPECT_TRUE(near(scalar.c_out, tensor.c_out)) << at << ": c_out " << scalar.c_out;
        EXPECT_TRUE(near(scalar.c_in, tensor.c_in)) << at << ": c_in " << scalar.c_in;
        EXPECT_TRUE(near(scalar.c_noise, tensor.c_noise)) << at << ": c_noise " << scalar.c_noise;
        if (tensor.c_skip.defined())
          EXPECT_TRUE(near(scalar.c_skip, tensor.c_skip)) << at << ": c_skip " << scalar.c_skip;
        else
          EXPECT_EQ(scalar.c_skip, 0.0) << at;
      }
    }
  }
}

TEST(ModelPreconditioningTest, FiniteWhereAlphaVanishes) {
  const auto process = process_of("rf");
  for (const char* name : {"velocity", "edm", "eps"}) {
    auto config = small_config("mlp", *process, 2);
    config.parameterization = name;
    const auto model = make_network(config, process, torch::kFloat32);
    const auto out = model->forward(torch::randn({2, 2}), torch::full({2}, process->t_max()));
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << name;
  }
}

TEST(ModelPreconditioningTest, DefaultsFollowTheProcess) {
  EXPECT_EQ(default_parameterization(*process_of("vp-cosine")), "eps");
  EXPECT_EQ(default_parameterization(*process_of("ddpm")), "eps");
  EXPECT_EQ(default_parameterization(*process_of("edm")), "edm");
  EXPECT_EQ(default_parameterization(*process_of("rf")), "velocity");
  EXPECT_EQ(default_parameterization(*process_of("ve-geometric")), "score");
}

// s(x) = A s_latent(A^T x) - (I - A A^T) x / sigma^2: the orthogonal part of x only enters
// through the exact Gaussian-noise term, in every parameterization.
TEST(ModelSubspaceTest, OrthogonalPartIsPureNoise) {
  for (const char* process_kind : {"vp-linear", "ve", "edm"}) {
    const auto process = process_of(process_kind);
    auto config = small_config("subspace", *process, 5);
    config.rank = 2;
    const auto model = make_network(config, process, torch::kFloat64);
    auto& subspace = dynamic_cast<SubspaceModel&>(*model);
    const auto a = subspace.basis();
    EXPECT_TRUE(torch::allclose(a.t().matmul(a), torch::eye(2, torch::kFloat64), 1e-10, 1e-10));
    const auto x = torch::randn({3, 5}, torch::kFloat64);
    const auto t = torch::full({3}, 0.5, torch::kFloat64);
    const auto z = x.matmul(a);
    const auto x_perp = x - z.matmul(a.t());
    const auto c = coefficients_at(*process, t, x);
    const auto expected = subspace.latent()->forward(z, t).matmul(a.t()) +
                          predict(model->parameterization(), torch::zeros_like(x),
                                  x_perp / c.sigma, c);
    EXPECT_TRUE(torch::allclose(model->forward(x, t), expected, 1e-10, 1e-10)) << process_kind;
    // As a score: the orthogonal term is exactly -(I - A A^T) x / sigma^2.
    const auto [x0, eps] = split(model->parameterization(), model->forward(x_perp, t), x_perp, c);
    const auto latent_zero = subspace.latent()->forward(torch::zeros({3, 2}, torch::kFloat64), t);
    const auto [lx0, leps] = split(model->parameterization(), latent_zero,
                                   torch::zeros({3, 2}, torch::kFloat64), c);
    const auto score = -eps / c.sigma;
    const auto latent_score = (-leps / c.sigma).matmul(a.t());
    EXPECT_TRUE(torch::allclose(score - latent_score, -x_perp / (c.sigma * c.sigma), 1e-8, 1e-8))
        << process_kind;
  }
}

TEST(ModelSubspaceTest, PcaBasisFindsTheDataSubspace) {
  const auto basis = torch::linalg_qr(torch::randn({6, 2}, torch::kFloat64), "reduced");
  const auto a = std::get<0>(basis);
  const auto data = torch::randn({500, 2}, torch::kFloat64).matmul(a.t());
  const auto found = initial_basis(6, 2, data);
  // Same subspace: the projections agree.
  EXPECT_TRUE(torch::allclose(found.matmul(found.t()), a.matmul(a.t()), 1e-8, 1e-8));
}

TEST(ModelFactoryTest, NetworksNeedACheckpointToSample) {
  ModelConfig config;
  config.kind = "mlp";
  DataConfig data;
  try {
    make_model(config, process_of("vp-linear"), data, torch::kFloat32);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--model"), std::string::npos) << e.what();
  }
}

TEST(ModelFactoryTest, ResolveFillsDimSigmaDataAndParameterization) {
  const auto process = process_of("rf");
  ModelConfig config;
  config.kind = "mlp";
  const auto data = 2.0 * torch::ones({10, 3}, torch::kFloat64);
  const auto resolved = resolve_model_config(config, *process, data);
  EXPECT_EQ(resolved.parameterization, "velocity");
  EXPECT_EQ(resolved.dim, 3);
  EXPECT_DOUBLE_EQ(*resolved.sigma_data, 2.0);
  config.dim = 4;
  EXPECT_THROW(resolve_model_config(config, *process, data), InputError);
  config.dim.reset();
  EXPECT_THROW(make_network(config, process, torch::kFloat32), InputError);  // unresolved
}

TEST(ModelFactoryTest, SubspaceNeedsARank) {
  const auto process = process_of("vp-linear");
  auto config = small_config("subspace", *process, 4);
  EXPECT_THROW(make_network(config, process, torch::kFloat32), InputError);
  config.rank = 5;
  EXPECT_THROW(make_network(config, process, torch::kFloat32), InputError);
}

}  // namespace
}  // namespace diffuse
