// model.kind: torchscript (models/torchscript.h): modules defined here in TorchScript source
// predict Gaussian data's exact posterior in each parameterization; the Denoiser must turn every
// one of them into the closed-form E[x0 | x] = a c^2 / (a^2 c^2 + s^2) x.
#include "core/base/errors.h"
#include "core/math/mixture.h"
#include "models/analytic.h"
#include "models/denoiser.h"
#include "models/guidance.h"
#include "models/model_factory.h"
#include "models/torchscript.h"
#include "samplers/noise.h"
#include "samplers/registry.h"
#include "tests/temp_dir.h"
#include "tests/torchscript_fixture.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuse {
namespace {

using testing::gaussian_vp_source;
using testing::kGaussianStd;
using testing::scripted_module;
using testing::TempDir;

std::string saved_module(const torch::jit::Module& module, const TempDir& dir,
                         const std::string& name) {
  const std::string path = dir.file(name);
  module.save(path);
  return path;
}

ModelConfig ts_config(const std::string& path, const std::string& prediction, int dim) {
  ModelConfig m;
  m.kind = "torchscript";
  m.path = path;
  m.prediction = prediction;
  m.dim = dim;
  return m;
}

ScoreModelPtr load_ts(const ModelConfig& m, const ProcessPtr& process, torch::Dtype dtype) {
  return make_model(m, process, DataConfig{}, torch::dtype(dtype));
}

// alpha, sigma of vp-linear (b0 = 0.1, b1 = 20) in closed form.
double ts_vp_alpha(double t) { return std::exp(-0.25 * 19.9 * t * t - 0.05 * t); }

struct PredictionCase {
  const char* prediction;
  const char* expression;  // the module's output in that parameterization
};

class TorchScriptPrediction : public ::testing::TestWithParam<PredictionCase> {};

TEST_P(TorchScriptPrediction, EveryViewIsTheGaussianPosterior) {
  const auto [prediction, expression] = GetParam();
  TempDir dir;
  const auto path = saved_module(scripted_module(gaussian_vp_source(expression)), dir, "m.pt");
  const auto process = make_process(ProcessConfig{});
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const auto model = load_ts(ts_config(path, prediction, 3), process, dtype);
    Denoiser denoiser(model, process);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(11);
    const auto x = torch::randn({5, 3}, gen, torch::kFloat64);
    const std::vector<double> times = {0.01, 0.2, 0.45, 0.7, 0.95};
    const auto t = torch::tensor(times, torch::kFloat64);
    const auto got = denoiser.predict(x.to(dtype), t.to(dtype)).x0.to(torch::kFloat64);
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 2e-5;
    for (int i = 0; i < 5; ++i) {
      const double a = ts_vp_alpha(times[i]), s2 = 1.0 - a * a, c2 = kGaussianStd * kGaussianStd;
      const auto expected = x[i] * (a * c2 / (a * a * c2 + s2));
      EXPECT_LT((got[i] - expected).abs().max().item<double>(), tol)
          << prediction << " " << c10::toString(dtype) << " t = " << times[i];
    }
    // A shared time (a sampler's step) agrees with the per-row path.
    const auto shared = denoiser.predict(x.to(dtype), 0.45).x0.to(torch::kFloat64);
    const double a = ts_vp_alpha(0.45), c2 = kGaussianStd * kGaussianStd;
    EXPECT_LT((shared - x * (a * c2 / (a * a * c2 + 1.0 - a * a))).abs().max().item<double>(), tol);
    EXPECT_EQ(model->parameterization(), parse_parameterization(prediction));
  }
}

INSTANTIATE_TEST_SUITE_P(Predictions, TorchScriptPrediction,
                         ::testing::Values(PredictionCase{"eps", "eps"}, PredictionCase{"x0", "x0"},
                                           PredictionCase{"v", "a * eps - s * x0"},
                                           PredictionCase{"velocity", "da * x0 + ds * eps"},
                                           PredictionCase{"score", "-eps / s"}),
                         [](const auto& info) { return std::string(info.param.prediction); });

// EDM's form: the module is F(c_in x, c_noise) and diffuse adds c_skip x + c_out F. The module
// recovers sigma = exp(4 c_noise) and x = x_in sqrt(sigma^2 + sd^2) (edm: alpha = 1) and returns
// the F whose preconditioned output is c^2 / (c^2 + sigma^2) x (Karras et al. 2022, Table 1).
TEST(TorchScriptModel, EdmFormIsPreconditionedLikeKarras) {
  TempDir dir;
  const auto path =
      saved_module(scripted_module("def forward(self, x_in: Tensor, c_noise: Tensor) -> Tensor:\n"
                                   "    s = torch.exp(4.0 * c_noise).reshape(-1, 1)\n"
                                   "    x = x_in * torch.sqrt(s * s + 0.25)\n"
                                   "    x0 = 0.49 / (0.49 + s * s) * x\n"
                                   "    c_skip = 0.25 / (s * s + 0.25)\n"
                                   "    c_out = s * 0.5 / torch.sqrt(s * s + 0.25)\n"
                                   "    return (x0 - c_skip * x) / c_out\n"),
                   dir, "edm.pt");
  ProcessConfig pc;
  pc.kind = "edm";
  const auto process = make_process(pc);
  auto m = ts_config(path, "edm", 4);
  m.sigma_data = 0.5;
  const auto model = load_ts(m, process, torch::kFloat64);
  EXPECT_EQ(model->parameterization(), Parameterization::x0);
  const auto x = torch::randn({3, 4}, torch::kFloat64);
  const std::vector<double> sigmas = {0.01, 1.3, 60.0};
  const auto got = Denoiser(model, process).predict(x, torch::tensor(sigmas, torch::kFloat64)).x0;
  for (int i = 0; i < 3; ++i) {
    const auto expected = x[i] * (0.49 / (0.49 + sigmas[i] * sigmas[i]));
    EXPECT_LT((got[i] - expected).abs().max().item<double>(), 1e-12) << "sigma " << sigmas[i];
  }
  m.sigma_data.reset();
  EXPECT_THROW(load_ts(m, process, torch::kFloat64), InputError);  // edm needs sigma_data
}

// A module that only accepts images [B, 1, 4, 4], with model.shape, sampled by DDIM and
// DPM-Solver++(2M) from flat rows: the samples equal the analytic score's (an independent
// implementation, core/math/mixture.h) of the same Gaussian from the same noise.
TEST(TorchScriptModel, ImageShapedModuleSamplesLikeTheAnalyticScore) {
  TempDir dir;
  auto source = gaussian_vp_source("eps", "-1, 1, 1, 1");
  source.insert(source.find("    tt"), "    assert x.dim() == 4 and x.size(1) == 1\n");
  const auto path = saved_module(scripted_module(source), dir, "image.pt");
  const auto process = make_process(ProcessConfig{});
  auto m = ts_config(path, "eps", 16);
  m.shape = {1, 4, 4};
  const auto model = load_ts(m, process, torch::kFloat64);
  GaussianMixture gaussian({GaussianComponent::isotropic(1.0, torch::zeros({16}, torch::kFloat64),
                                                         kGaussianStd * kGaussianStd)});
  const auto oracle = std::make_shared<AnalyticMixtureScore>(gaussian, process);
  const auto x_T = torch::randn({6, 16}, torch::kFloat64);
  for (const char* name : {"ddim", "dpm-solver++2m"}) {
    SamplerConfig sc;
    sc.name = name;
    sc.steps = 10;
    NoiseSource noise_a(1, 0), noise_b(1, 0);
    const auto ours = run_sampler(sc, Denoiser(model, process), x_T, noise_a);
    const auto theirs = run_sampler(sc, Denoiser(oracle, process), x_T, noise_b);
    EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-10) << name;
    // And from image-shaped x_T, the same numbers in that shape.
    NoiseSource noise_c(1, 0);
    const auto shaped =
        run_sampler(sc, Denoiser(model, process), x_T.reshape({6, 1, 4, 4}), noise_c);
    EXPECT_EQ(shaped.sizes(), (std::vector<std::int64_t>{6, 1, 4, 4}));
    EXPECT_LT((shaped.reshape({6, 16}) - theirs).abs().max().item<double>(), 1e-10) << name;
  }
}

// Classifier-free guidance (Ho & Salimans 2022) over a module taking labels: f = 0.1 x +
// 0.01 label t, so (1 + w) f(c) - w f(null) = 0.1 x + 0.01 t ((1 + w) c - w K).
TEST(TorchScriptModel, ConditionalModuleTakesGuidance) {
  TempDir dir;
  const auto path = saved_module(
      scripted_module("def forward(self, x: Tensor, t: Tensor, labels: Tensor) -> Tensor:\n"
                      "    return 0.1 * x + 0.01 * (labels.to(x.dtype) * t).reshape(-1, 1)\n"),
      dir, "cond.pt");
  const auto process = make_process(ProcessConfig{});
  auto m = ts_config(path, "eps", 2);
  m.num_classes = 3;
  const auto model = load_ts(m, process, torch::kFloat64);
  EXPECT_EQ(model->num_classes(), 3);
  const auto x = torch::randn({4, 2}, torch::kFloat64);
  const auto t = torch::tensor({0.1, 0.3, 0.5, 0.9}, torch::kFloat64);
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  const double w = 2.5;
  const auto guided = GuidedModel(model, labels, w).forward(x, t);
  const auto c = labels.to(torch::kFloat64);
  const auto expected = 0.1 * x + (0.01 * t * ((1 + w) * c - w * 3.0)).reshape({-1, 1});
  EXPECT_LT((guided - expected).abs().max().item<double>(), 1e-14);
  // forward(x, t) is the null label K = 3.
  const auto null = model->forward(x, t);
  EXPECT_LT((null - (0.1 * x + (0.03 * t).reshape({-1, 1}))).abs().max().item<double>(), 1e-14);
  m.num_classes = 0;  // a module taking labels without model.num_classes
  EXPECT_THROW(load_ts(m, process, torch::kFloat64), InputError);
}

// Bad input: an InputError naming the file and what was expected, before any sampling.
void expect_ts_input_error(const ModelConfig& m, const std::vector<std::string>& words) {
  const auto process = make_process(ProcessConfig{});
  try {
    load_ts(m, process, torch::kFloat64);
    ADD_FAILURE() << "no error for " << m.path;
  } catch (const InputError& e) {
    const std::string text = e.what();
    for (const auto& word : words) EXPECT_NE(text.find(word), std::string::npos) << text;
  }
}

TEST(TorchScriptModel, BadInputIsAnInputErrorNamingTheFile) {
  TempDir dir;
  const auto garbage = dir.write("garbage.pt", "not a zip archive at all");
  expect_ts_input_error(ts_config(garbage, "eps", 2), {garbage, "not a TorchScript"});
  expect_ts_input_error(ts_config(dir.file("missing.pt"), "eps", 2),
                        {"missing.pt", "no such file"});
  const auto one_arg = saved_module(scripted_module("def forward(self, x: Tensor) -> Tensor:\n"
                                                    "    return x\n"),
                                    dir, "one.pt");
  expect_ts_input_error(ts_config(one_arg, "eps", 2), {one_arg, "expected forward(x"});
  const auto tuple = saved_module(
      scripted_module("def forward(self, x: Tensor, t: Tensor) -> Tuple[Tensor, Tensor]:\n"
                      "    return x, t\n"),
      dir, "tuple.pt");
  expect_ts_input_error(ts_config(tuple, "eps", 2), {tuple, "expected forward(x"});
  const auto narrow =
      saved_module(scripted_module("def forward(self, x: Tensor, t: Tensor) -> Tensor:\n"
                                   "    return x[:, :1]\n"),
                   dir, "narrow.pt");
  expect_ts_input_error(ts_config(narrow, "eps", 2), {narrow, "shape [2, 1]", "x's shape"});
  const auto single =
      saved_module(scripted_module("def forward(self, x: Tensor, t: Tensor) -> Tensor:\n"
                                   "    return x.float()\n"),
                   dir, "single.pt");
  expect_ts_input_error(ts_config(single, "eps", 2), {single, "Float", "x's dtype"});
  const auto fails =
      saved_module(scripted_module("def forward(self, x: Tensor, t: Tensor) -> Tensor:\n"
                                   "    return x.reshape(-1, 7) * t\n"),
                   dir, "fails.pt");
  expect_ts_input_error(ts_config(fails, "eps", 2), {fails, "probe batch"});
  const auto infinite =
      saved_module(scripted_module("def forward(self, x: Tensor, t: Tensor) -> Tensor:\n"
                                   "    return x / (t - t).reshape(-1, 1)\n"),
                   dir, "infinite.pt");
  expect_ts_input_error(ts_config(infinite, "eps", 2), {infinite, "non-finite"});
  const auto good = saved_module(scripted_module(gaussian_vp_source("eps")), dir, "good.pt");
  expect_ts_input_error(ts_config(good, "noise", 2),
                        {good, "'noise'", "expected eps, x0, v, velocity, score or edm"});
  expect_ts_input_error(ts_config(good, "", 2), {good, "model.prediction = ''"});
  auto shaped = ts_config(good, "eps", 2);
  shaped.shape = {1, 3};
  expect_ts_input_error(shaped, {good, "[1, 3]", "[2]"});
}

}  // namespace
}  // namespace diffuse
