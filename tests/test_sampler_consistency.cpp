// The `consistency` sampler (Song et al. 2023, Algorithm 1) with the exact consistency
// function of Gaussian data: one step is f(x_T, T) with one evaluation; with more steps the
// re-noising keeps the output distribution exact, which checks the forward transition from
// t_min; a consistency model refuses every other sampler.
#include "core/base/errors.h"
#include "samplers/consistency.h"
#include "samplers/generate.h"
#include "tests/consistency_fixture.h"
#include "tests/sampler_checks.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuse::testing {
namespace {

const GaussianTarget kTarget{0.5, 0.25, 2};

class ConsistencySampler : public ::testing::TestWithParam<std::string> {};

TEST_P(ConsistencySampler, OneStepIsTheMapOfXT) {
  const auto process = process_of(GetParam());
  auto counting =
      std::make_shared<CountingModel>(std::make_shared<ExactConsistencyFunction>(process, kTarget));
  const Denoiser f(counting, process);
  SamplerConfig config;
  config.name = "consistency";
  config.steps = 1;
  NoiseSource noise(1, 0);
  const auto x_T = noise.next({16, 2}, torch::kFloat64) * process->prior_std();
  const auto x = run_sampler(config, f, x_T, noise);
  EXPECT_EQ(counting->calls, 1);
  const auto exact = exact_flow(*process, kTarget, x_T, process->t_max(), process->t_min());
  EXPECT_TRUE(torch::allclose(x, exact, 1e-12, 1e-12)) << GetParam();
}

TEST_P(ConsistencySampler, MultistepKeepsTheDistributionExact) {
  const auto process = process_of(GetParam());
  const Denoiser f(std::make_shared<ExactConsistencyFunction>(process, kTarget), process);
  const double a0 = process->alpha(process->t_min());
  const double want_mean = a0 * kTarget.mean;
  const double want_std = marginal_std(*process, kTarget, process->t_min());
  for (const int steps : {2, 4}) {
    SamplerConfig config;
    config.name = "consistency";
    config.steps = steps;
    GenerateRequest request;
    request.num_samples = 20000;
    request.batch_size = 20000;
    request.seed = 3;
    const auto result = generate(config, f, {2}, torch::kFloat64, request);
    EXPECT_EQ(result.nfe, steps);
    const auto x = result.samples;
    // Standard errors: std / sqrt(n) = 0.0035 for the mean, about 0.0025 for the std.
    EXPECT_NEAR(x.mean().item<double>(), want_mean, 0.02) << GetParam() << " " << steps;
    EXPECT_NEAR(x.std().item<double>(), want_std, 0.015) << GetParam() << " " << steps;
  }
}

INSTANTIATE_TEST_SUITE_P(Processes, ConsistencySampler,
                         ::testing::Values("edm", "rf", "vp-linear"));

TEST(ConsistencySamplerChoice, ConsistencyModelsRefuseOtherSamplers) {
  ModelConfig model;
  model.consistency = true;
  SamplerConfig sampler;
  sampler.name = "heun";
  try {
    require_consistency_sampler(model, sampler, "runs/x/checkpoint.pt");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("runs/x/checkpoint.pt"), std::string::npos) << message;
    EXPECT_NE(message.find("--sampler consistency"), std::string::npos) << message;
  }
  sampler.name = "consistency";
  EXPECT_NO_THROW(require_consistency_sampler(model, sampler, "m"));
  model.consistency = false;  // score models may use it: one-step denoising
  EXPECT_NO_THROW(require_consistency_sampler(model, sampler, "m"));
}

}  // namespace
}  // namespace diffuse::testing
