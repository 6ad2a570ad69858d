// Class conditioning and classifier-free guidance: the guidance arithmetic on a model
// with a known answer, the mlp's label embedding, and end to end: an mlp trained on the
// 8-Gaussian ring with each sample's component as its label puts its samples of label c in
// mode c, and guidance sharpens that.
#include "core/base/errors.h"
#include "core/data/mixture_config.h"
#include "core/io/npy.h"
#include "models/analytic.h"
#include "models/denoiser.h"
#include "models/guidance.h"
#include "models/mlp.h"
#include "samplers/generate.h"
#include "tests/cli_runner.h"
#include "tests/train_fixture.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace diffuse::testing {
namespace {

// A conditional "model" whose answer is known: f(x, t, c) = (c + 1) x, and the null label 3.
class ScalingModel : public ScoreModel {
 public:
  Parameterization parameterization() const override { return Parameterization::eps; }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    return forward_labelled(x, t, torch::full({x.size(0)}, 3, torch::kInt64));
  }
  torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor&,
                                 const torch::Tensor& labels) override {
    ++calls;
    rows += x.size(0);
    return (labels.to(x.dtype()) + 1).unsqueeze(1) * x;
  }
  std::int64_t num_classes() const override { return 3; }
  std::string describe() const override { return "scaling"; }
  int calls = 0;
  std::int64_t rows = 0;
};

TEST(GuidanceTest, CombinesTheBranchesAsHoAndSalimans) {
  auto model = std::make_shared<ScalingModel>();
  const auto labels = torch::tensor({0, 1, 2}, torch::kInt64);
  const auto x = torch::ones({3, 2}, torch::kFloat64);
  const auto t = torch::full({3}, 0.5, torch::kFloat64);
  for (double w : {0.0, 1.0, 2.5}) {
    GuidedModel guided(model, labels, w);
    const auto out = guided.forward(x, t);
    for (int c = 0; c < 3; ++c) {
      // (1 + w) (c + 1) - w * 4, the null label's factor being 3 + 1.
      const double expected = (1 + w) * (c + 1) - w * 4;
      EXPECT_NEAR(out[c][0].item<double>(), expected, 1e-12) << "w " << w << " class " << c;
    }
  }
  // One network call per evaluation: w = 0 on B rows, w > 0 on 2B rows in one batch.
  model->calls = 0;
  model->rows = 0;
  GuidedModel(model, labels, 0.0).forward(x, t);
  GuidedModel(model, labels, 2.0).forward(x, t);
  EXPECT_EQ(model->calls, 2);
  EXPECT_EQ(model->rows, 3 + 6);
}

TEST(GuidanceTest, RejectsUnconditionalModelsAndBadLabels) {
  auto model = std::make_shared<ScalingModel>();
  EXPECT_THROW(GuidedModel(model, torch::tensor({0, 4}, torch::kInt64), 1.0), InputError);
  EXPECT_THROW(GuidedModel(model, torch::tensor({0, -1}, torch::kInt64), 1.0), InputError);
  EXPECT_THROW(GuidedModel(model, torch::tensor({0}, torch::kInt64), -1.0), InputError);
  auto plain = std::make_shared<MlpNetImpl>(2, 8, 1, NoiseEmbeddingOptions{}, true);
  EXPECT_EQ(plain->num_classes(), 0);
  EXPECT_THROW(plain->forward_labelled(torch::zeros({2, 2}), torch::zeros({2}),
                                       torch::zeros({2}, torch::kInt64)),
               InputError);
}

TEST(GuidanceTest, SampleLabelsAreBalancedOrFixed) {
  const auto cycle = sample_labels(10, 4, -1);
  EXPECT_TRUE(torch::equal(cycle, torch::tensor({0, 1, 2, 3, 0, 1, 2, 3, 0, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(sample_labels(3, 4, 2), torch::full({3}, 2, torch::kInt64)));
  EXPECT_THROW(sample_labels(3, 4, 4), InputError);
}

TEST(GuidanceTest, MlpLabelsChangeTheOutputAndNullIsTheDefault) {
  torch::manual_seed(0);
  MlpNet net(2, 16, 2, NoiseEmbeddingOptions{"sinusoidal", 16, 4.0}, true, 3);
  // The output layer starts at zero; give it weights so the labels can show.
  for (auto& p : net->parameters()) p.data().normal_(0.0, 0.5);
  const auto x = torch::randn({4, 2});
  const auto c = torch::full({4}, 0.3);
  const auto a = net->forward_labelled(x, c, torch::zeros({4}, torch::kInt64));
  const auto b = net->forward_labelled(x, c, torch::ones({4}, torch::kInt64));
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-3);
  const auto null = net->forward_labelled(x, c, torch::full({4}, 3, torch::kInt64));
  EXPECT_TRUE(torch::allclose(net->forward(x, c), null));
  EXPECT_EQ(net->num_classes(), 3);
}

// Fraction of samples whose nearest ring mode is `label`.
double fraction_in_mode(const torch::Tensor& samples, std::int64_t label) {
  DataConfig data;
  const auto mixture = make_mixture(data);
  std::vector<torch::Tensor> means;
  for (const auto& c : mixture->components()) means.push_back(c.mean.to(torch::kFloat32));
  const auto centres = torch::stack(means);  // [8, 2]
  const auto nearest = torch::cdist(samples.to(torch::kFloat32), centres).argmin(1);
  return nearest.eq(label).to(torch::kFloat64).mean().item<double>();
}

TEST(GuidanceTest, ConditionalMlpOnTheRingPutsLabelCInModeC) {
  TempDir dir;
  auto setup = tiny_ring_setup(dir.path().string());
  setup.model.num_classes = 8;
  setup.model.width = 64;
  setup.train.steps = 600;
  setup.train.batch_size = 256;
  setup.train.lr = 3e-3;
  setup.train.log_every = 600;
  setup.train.checkpoint_every = 600;
  setup.train.ema_decay = 0.99;
  setup.train.label_dropout = 0.2;
  Trainer trainer(setup);
  trainer.run();

  SamplerConfig sampler;
  sampler.name = "dpm-solver-fast";
  sampler.steps = 20;
  const Denoiser denoiser(trainer.ema_model(), trainer.process());
  double plain = 0.0, guided = 0.0;
  for (std::int64_t label : {0, 3, 6}) {
    GenerateRequest request;
    request.num_samples = 512;
    request.batch_size = 512;
    request.labels = torch::full({512}, label, torch::kInt64);
    request.guidance = 0.0;
    const auto result = generate(sampler, denoiser, {2}, setup.options, request);
    EXPECT_EQ(result.nfe, 20);
    plain += fraction_in_mode(result.samples, label) / 3;
    request.guidance = 2.0;
    guided += fraction_in_mode(generate(sampler, denoiser, {2}, setup.options, request).samples,
                               label) / 3;
  }
  std::cout << "[measured] samples in their label's mode: w = 0 " << plain << ", w = 2 "
            << guided << " (chance 0.125)\n";
  EXPECT_GT(plain, 0.8);

  // The guided network against the exact guided score of the ring (Ho & Salimans 2022, eq. (6)
  // in score form): grad log p_t(x) + (1 + w) (grad log p_t(x | c) - grad log p_t(x)), where
  // p_t(. | c) is component c noised, at noise levels where the 600-step network is accurate
  // (relative error about 0.15; 0.5 at t = 0.2).
  const auto mixture = *make_mixture(setup.data);
  const auto process = trainer.process();
  AnalyticMixtureScore marginal(mixture, process);
  const std::int64_t n = 2048;
  const auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
  const auto labels = torch::randint(0, 8, {n}, gen, torch::kInt64);
  const auto x0 = mixture.sample(n, gen).x;
  const auto time = [&](double t) { return torch::full({n}, t, torch::kFloat64); };
  const auto relative_error = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).pow(2).sum() / b.pow(2).sum()).sqrt().item<double>();
  };
  for (double t : {0.4, 0.6}) {
    const auto x = process->alpha(t) * x0 + process->sigma(t) * torch::randn(x0.sizes(), gen,
                                                                             x0.options());
    const auto unconditional = marginal.forward(x, time(t));
    auto conditional = torch::empty_like(x);
    for (std::int64_t c = 0; c < 8; ++c) {
      const auto rows = labels.eq(c).nonzero().squeeze(1);
      AnalyticMixtureScore component(GaussianMixture({mixture.components()[c]}), process);
      conditional.index_copy_(0, rows, component.forward(x.index_select(0, rows),
                                                         time(t).index_select(0, rows)));
    }
    const auto exact = [&](double w) {
      return unconditional + (1 + w) * (conditional - unconditional);
    };
    const auto network = [&](double w) {
      const Denoiser d(std::make_shared<GuidedModel>(trainer.ema_model(), labels, w), process);
      return d.score(x.to(torch::kFloat32), t).to(torch::kFloat64);
    };
    // Guided with w, the network is nearest the exact score guided with the same w among
    // w' = 0..3: a guidance that ignored w, flipped its sign or used w - 1 or w + 1 (the two
    // conventions of the literature) would be nearest another w'.
    for (double w : {0.0, 2.0}) {
      const auto guided = network(w);
      std::vector<double> errors;
      for (double other : {0.0, 1.0, 2.0, 3.0})
        errors.push_back(relative_error(guided, exact(other)));
      std::cout << "[measured] t " << t << ", w " << w << ": relative distance to the exact "
                << "guided score with w' = 0, 1, 2, 3: " << errors[0] << ", " << errors[1] << ", "
                << errors[2] << ", " << errors[3] << "\n";
      EXPECT_EQ(std::min_element(errors.begin(), errors.end()) - errors.begin(), std::lround(w))
          << "t " << t << " w " << w;
    }
  }
}

TEST(GuidanceTest, ClassesNeedAnMlpAndLabelledData) {
  TempDir dir;
  auto linear = tiny_ring_setup(dir.path().string(), "linear");
  linear.model.num_classes = 8;
  EXPECT_THROW(Trainer{linear}, InputError);
  auto too_few = tiny_ring_setup(dir.path().string());
  too_few.model.num_classes = 4;  // the ring has 8 components
  EXPECT_THROW(Trainer{too_few}, InputError);
  auto unlabelled = tiny_ring_setup(dir.path().string());
  unlabelled.data.kind = "two-moons";
  unlabelled.model.num_classes = 2;
  EXPECT_THROW(Trainer{unlabelled}, InputError);
}

TEST(GuidanceTest, SampleCommandWritesLabelsAndRejectsLabelsForUnconditionalModels) {
  TempDir dir;
  const auto config = dir.write("run.yaml", tiny_ring_yaml(dir.file("run")));
  ASSERT_EQ(run_diffuse("train -c " + config + " --set model.num_classes=8").exit_code, 0);
  const auto checkpoint = dir.file("run/checkpoint.pt");
  const auto r = run_diffuse("sample --model " + checkpoint + " -n 20 --guidance 1.5 -o " +
                             dir.file("s.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto labels = load_npy(dir.file("s.labels.npy"));
  EXPECT_TRUE(torch::equal(labels, torch::arange(20, torch::kInt64).remainder(8)));
  EXPECT_NE(r.output.find("\"network_evaluations\":20"), std::string::npos) << r.output;

  ASSERT_EQ(run_diffuse("train -c " + config + " --set train.out=" + dir.file("plain")).exit_code,
            0);
  const auto bad = run_diffuse("sample --model " + dir.file("plain/checkpoint.pt") +
                               " --label 3 -o " + dir.file("p.npy"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("unconditional"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace diffuse::testing
