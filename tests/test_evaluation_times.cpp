// Decoupled evaluation times (samplers/evaluation_times.h): a sampler on grid t_i whose denoiser
// answers at s_i. Checked against one DDIM step written out by hand, against the unshifted run
// when s_i = t_i, and through the grid file of diffuse schedule.
#include "core/base/errors.h"
#include "core/data/mixture_config.h"
#include "models/analytic.h"
#include "samplers/common.h"
#include "samplers/evaluation_times.h"
#include "samplers/registry.h"
#include "tests/temp_dir.h"

#include <gtest/gtest.h>

namespace diffuse {
namespace {

struct Ring8 {
  ProcessPtr process = make_process({});  // vp-linear, t in [1e-3, 1]
  Denoiser denoiser{std::make_shared<AnalyticMixtureScore>(
                        make_mixture(DataConfig{})->to(torch::TensorOptions().dtype(torch::kFloat64)),
                        process),
                    process};
  torch::Tensor x_T = NoiseSource(3, 0).next({64, 2}, torch::TensorOptions().dtype(torch::kFloat64));
};

torch::Tensor run(const SamplerConfig& config, const Denoiser& denoiser, const torch::Tensor& x) {
  NoiseSource noise(0, 0);
  return run_sampler(config, denoiser, x, noise);
}

TEST(EvaluationTimesTest, OneDdimStepUsesThePredictionAtTheEvaluationTime) {
  const Ring8 r;
  SamplerConfig config;
  config.name = "ddim";
  config.times = {1.0, 0.3};
  config.eval_times = {0.6, 0.3};
  const auto& p = *r.process;
  // DDIM (eta = 0): x_1 = alpha_1 x0 + sigma_1 (x_0 - alpha_0 x0) / sigma_0, with x0 the
  // prediction at s_0 = 0.6 and the coefficients at the grid times 1 and 0.3.
  const auto x0 = r.denoiser.x0(r.x_T, 0.6);
  const auto expected = p.alpha(0.3) * x0 + p.sigma(0.3) * (r.x_T - p.alpha(1.0) * x0) / p.sigma(1.0);
  const auto got = run(config, r.denoiser, r.x_T);
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-12);
  config.eval_times.clear();  // the shift is not a no-op here
  EXPECT_GT((run(config, r.denoiser, r.x_T) - expected).abs().max().item<double>(), 1e-3);
}

TEST(EvaluationTimesTest, EvaluationTimesEqualToTheGridChangeNothing) {
  const Ring8 r;
  SamplerConfig config;
  config.name = "unipc-bh2-3";
  config.times = {1.0, 0.6, 0.3, 0.1, 0.03, 1e-3};
  const auto plain = run(config, r.denoiser, r.x_T);
  config.eval_times = config.times;
  EXPECT_LT((run(config, r.denoiser, r.x_T) - plain).abs().max().item<double>(), 1e-12);
  // Shifted by +0.05 in lambda, not by nothing: the same map as asking for those times.
  const auto shifted = shifted_evaluation_times(*r.process, config.times, {0.05, 0.05, 0.05});
  ASSERT_EQ(shifted.size(), config.times.size());
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(r.process->lambda(shifted[i]), r.process->lambda(config.times[i]) + 0.05, 1e-9);
  for (std::size_t i = 3; i < shifted.size(); ++i) EXPECT_EQ(shifted[i], config.times[i]);
  config.eval_times = shifted;
  EXPECT_GT((run(config, r.denoiser, r.x_T) - plain).abs().max().item<double>(), 1e-4);
}

TEST(EvaluationTimesTest, GridFileEvaluationTimesAreUsedAndBadOnesRefused) {
  const Ring8 r;
  testing::TempDir dir;
  SamplerConfig direct;
  direct.name = "dpm-solver++2m";
  direct.times = {1.0, 0.5, 0.1, 1e-3};
  direct.eval_times = {0.9, 0.45, 0.12, 1e-3};
  SamplerConfig from_file;
  from_file.name = direct.name;
  from_file.times_file = dir.write("g.yaml", "times: [1, 0.5, 0.1, 0.001]\n"
                                             "eval_times: [0.9, 0.45, 0.12, 0.001]\n");
  EXPECT_EQ(given_eval_times(from_file), direct.eval_times);
  EXPECT_LT((run(from_file, r.denoiser, r.x_T) - run(direct, r.denoiser, r.x_T)).abs().max().item<double>(),
            1e-15);

  SamplerConfig bad = direct;
  bad.eval_times = {0.9, 0.45, 0.12};  // one short
  EXPECT_THROW(run(bad, r.denoiser, r.x_T), InputError);
  bad.eval_times = {1.5, 0.45, 0.12, 1e-3};  // outside [t_min, t_max]
  EXPECT_THROW(run(bad, r.denoiser, r.x_T), InputError);
  from_file.eval_times = direct.eval_times;  // given twice
  EXPECT_THROW(given_eval_times(from_file), InputError);
  SamplerConfig words = direct;
  words.eval_times.clear();
  words.times.clear();
  words.times_file = dir.write("w.yaml", "times: [1, 0.001]\neval_times: [1, soon]\n");
  EXPECT_THROW(given_eval_times(words), InputError);
}

}  // namespace
}  // namespace diffuse
