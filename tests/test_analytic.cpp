// The analytic oracle: its score is the autograd gradient of its exact log p_t for every
// covariance kind and several processes and times, reduces to the clean score at small t, and
// equals the closed form for one Gaussian.
#include "core/base/errors.h"
#include "core/math/mixture.h"
#include "core/process/process.h"
#include "models/analytic.h"
#include "models/denoiser.h"
#include "seeded.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

namespace diffuse {
namespace {

using testing::kF64;
using testing::seeded;



ProcessPtr process_named(const std::string& kind) {
  ProcessConfig config;
  config.kind = kind;
  return make_process(config);
}

// Three components of one covariance kind in D = 4 (kind "mixed": one of each).
GaussianMixture mixture_of(const std::string& kind, uint64_t seed) {
  auto gen = seeded(seed);
  const int64_t d = 4;
  std::vector<GaussianComponent> components;
  const std::vector<std::string> kinds =
      kind == "mixed" ? std::vector<std::string>{"iso", "diag", "full", "factor"}
                      : std::vector<std::string>(3, kind);
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const double w = 0.5 + static_cast<double>(i);
    const auto mean = 1.5 * torch::randn({d}, gen, kF64);
    if (kinds[i] == "iso") {
      components.push_back(GaussianComponent::isotropic(w, mean, 0.2 + 0.1 * i));
    } else if (kinds[i] == "diag") {
      components.push_back(
          GaussianComponent::diagonal(w, mean, 0.05 + torch::rand({d}, gen, kF64)));
    } else if (kinds[i] == "full") {
      const auto b = torch::randn({d, d}, gen, kF64);
      components.push_back(GaussianComponent::dense(w, mean, b.matmul(b.t()) / d + 0.02));
    } else {
      components.push_back(
          GaussianComponent::low_rank(w, mean, torch::randn({d, 2}, gen, kF64), 0.01));
    }
  }
  return GaussianMixture(components);
}

// Points where p_t has its mass (alpha x0 + sigma eps) and a few far out.
torch::Tensor points_at(const GaussianMixture& mixture, double alpha, double sigma, uint64_t seed) {
  auto gen = seeded(seed);
  const auto x0 = mixture.sample(48, gen).x;
  const auto near = alpha * x0 + sigma * torch::randn(x0.sizes(), gen, kF64);
  const auto far = (3.0 * alpha + 2.0 * sigma) * torch::randn({16, mixture.dim()}, gen, kF64);
  return torch::cat({near, far});
}

torch::Tensor autograd_score(const std::function<torch::Tensor(const torch::Tensor&)>& log_p,
                             const torch::Tensor& x) {
  auto leaf = x.detach().clone().requires_grad_(true);
  const auto lp = log_p(leaf).sum();
  return torch::autograd::grad({lp}, {leaf})[0];
}

// Row-wise ||a - b|| <= rel ||b|| (plus a floor far below it for rows where the score vanishes).
void expect_rows_close(const torch::Tensor& a, const torch::Tensor& b, double rel,
                       const std::string& what) {
  const auto err = (a - b).norm(2, 1);
  const auto scale = b.norm(2, 1);
  const auto bound = rel * scale + 1e-3 * rel * scale.max();
  const auto worst = (err / (scale + 1e-300)).max().item<double>();
  EXPECT_TRUE((err <= bound).all().item<bool>()) << what << ": worst relative error " << worst;
}

TEST(AnalyticTest, ScoreIsGradientOfLogDensity) {
  for (const std::string kind : {"iso", "diag", "full", "factor", "mixed"}) {
    const auto mixture = mixture_of(kind, 21);
    for (const std::string name : {"vp-linear", "ve", "edm", "rf"}) {
      const auto process = process_named(name);
      AnalyticMixtureScore oracle(mixture, process);
      for (double f : {0.0, 0.3, 0.7, 1.0}) {
        const double t = process->t_min() * std::pow(process->t_max() / process->t_min(), f);
        const auto x = points_at(mixture, process->alpha(t), process->sigma(t), 22);
        const auto tt = torch::full({x.size(0)}, t, kF64);
        const auto score = oracle.forward(x, tt);
        const auto grad =
            autograd_score([&](const auto& z) { return oracle.log_prob_t(z, tt); }, x);
        expect_rows_close(score, grad, 1e-8, kind + " / " + name + " / t = " + std::to_string(t));
      }
    }
  }
}

TEST(AnalyticTest, PerSampleTimesMatchSharedTimes) {
  const auto mixture = mixture_of("mixed", 23);
  const auto process = process_named("vp-linear");
  AnalyticMixtureScore oracle(mixture, process);
  const auto x = torch::randn({6, 4}, seeded(24), kF64);
  const auto t = torch::tensor({0.001, 0.01, 0.1, 0.3, 0.6, 1.0}, kF64);
  const auto batched = oracle.forward(x, t);
  for (int64_t i = 0; i < 6; ++i) {
    const auto row = oracle.forward(x.slice(0, i, i + 1), t.slice(0, i, i + 1));
    EXPECT_TRUE(torch::allclose(batched.slice(0, i, i + 1), row, 1e-12, 1e-12)) << i;
  }
  // A single time broadcasts to the batch.
  EXPECT_TRUE(torch::allclose(oracle.forward(x, torch::full({1}, 0.3, kF64)),
                              oracle.forward(x, torch::full({6}, 0.3, kF64))));
}

TEST(AnalyticTest, SmallTimeApproachesCleanScore) {
  // EDM: alpha = 1, sigma = t; the noised score tends to grad log p as t -> 0.
  const auto mixture = mixture_of("mixed", 25);
  AnalyticMixtureScore oracle(mixture, process_named("edm"));
  const auto x = mixture.sample(64, seeded(26)).x;
  const auto clean = autograd_score([&](const auto& z) { return mixture.log_prob(z); }, x);
  double previous = 1e300;
  for (double t : {0.1, 0.01, 0.002}) {
    const auto score = oracle.forward(x, torch::full({64}, t, kF64));
    const double err = ((score - clean).norm() / clean.norm()).item<double>();
    EXPECT_LT(err, previous) << "t = " << t;
    previous = err;
  }
  EXPECT_LT(previous, 1e-3);
}

TEST(AnalyticTest, SingleGaussianMatchesClosedForm) {
  const auto mu = torch::tensor({1.0, -2.0, 0.5}, kF64);
  const double s2 = 0.4;
  GaussianMixture mixture({GaussianComponent::isotropic(1.0, mu, s2)});
  const auto x = torch::randn({32, 3}, seeded(27), kF64);
  for (const std::string name : {"vp-linear", "vp-cosine", "ve", "edm", "rf"}) {
    const auto process = process_named(name);
    AnalyticMixtureScore oracle(mixture, process);
    for (double f : {0.0, 0.5, 1.0}) {
      const double t = process->t_min() * std::pow(process->t_max() / process->t_min(), f);
      const double a = process->alpha(t), s = process->sigma(t);
      const auto expected = -(x - a * mu) / (a * a * s2 + s * s);
      EXPECT_TRUE(
          torch::allclose(oracle.forward(x, torch::full({32}, t, kF64)), expected, 1e-12, 1e-12))
          << name << " t = " << t;
    }
  }
}

TEST(AnalyticTest, DenoiserGivesPosteriorMean) {
  // Through the Denoiser the score view gives Tweedie's x0 = mu + a s2 (x - a mu) / (a2 s2 + s^2).
  const auto mu = torch::tensor({0.5, -1.0}, kF64);
  const double s2 = 0.3;
  const auto process = process_named("vp-linear");
  auto oracle = std::make_shared<AnalyticMixtureScore>(
      GaussianMixture({GaussianComponent::isotropic(1.0, mu, s2)}), process);
  Denoiser denoiser(oracle, process);
  const auto x = torch::randn({8, 2}, seeded(28), kF64);
  const double t = 0.4, a = process->alpha(t), s = process->sigma(t);
  const auto expected = mu + a * s2 * (x - a * mu) / (a * a * s2 + s * s);
  EXPECT_TRUE(torch::allclose(denoiser.x0(x, t), expected, 1e-10, 1e-10));
}

TEST(AnalyticTest, Float32AgreesAndKeepsShape) {
  const auto mixture = mixture_of("mixed", 29);
  AnalyticMixtureScore oracle(mixture, process_named("vp-linear"));
  const auto x = torch::randn({10, 2, 2}, seeded(30), kF64);  // [B, dims...] with 4 values
  const auto t = torch::full({10}, 0.2, kF64);
  const auto s64 = oracle.forward(x, t);
  const auto s32 = oracle.forward(x.to(torch::kFloat32), t.to(torch::kFloat32));
  EXPECT_EQ(s64.sizes(), x.sizes());
  EXPECT_EQ(s32.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(s32.to(torch::kFloat64), s64, 1e-4, 1e-4));
  EXPECT_EQ(oracle.parameterization(), Parameterization::score);
  EXPECT_NE(oracle.describe().find("4 components"), std::string::npos) << oracle.describe();
  EXPECT_THROW(oracle.forward(torch::zeros({3, 5}, kF64), torch::zeros({3}, kF64)), InputError);
}

TEST(AnalyticTest, RunsOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto mixture = mixture_of("mixed", 31);
  AnalyticMixtureScore oracle(mixture, process_named("edm"));
  const auto x = torch::randn({16, 4}, seeded(32), kF64);
  const auto t = torch::full({16}, 0.5, kF64);
  const auto cpu = oracle.forward(x, t);
  const auto gpu = oracle.forward(x.cuda(), t.cuda());
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_TRUE(torch::allclose(gpu.cpu(), cpu, 1e-10, 1e-10));
}

}  // namespace
}  // namespace diffuse
