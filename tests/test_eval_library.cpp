// apps/eval without the command (the library half of `diffuse eval`): samples measured against
// the data's exact mixture rank exact draws above a collapsed set, a wrong width is refused, and
// a model's sampler section is checked against the model and warns about an option its sampler
// ignores or a grid file fitted for another sampler.
#include "apps/eval/model_sampler.h"
#include "apps/eval/samples.h"
#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "tests/temp_dir.h"

#include <gtest/gtest.h>

namespace diffuse {
namespace {

TEST(EvalLibrary, MixtureMetricsRankExactDrawsAboveACollapsedSet) {
  RunConfig config;  // data: ring8, eight equal components on a circle
  const auto mixture = make_mixture(config.data);
  ASSERT_TRUE(mixture);
  const auto draws = mixture->sample(4000, make_generator(3));
  const auto exact = evaluate_mixture_samples(config, draws.x, "exact");
  // The same number of points, all from component 0: one mode of eight.
  const auto on_zero = draws.x.index({draws.labels == 0});
  const auto collapsed_x = on_zero.repeat({4000 / on_zero.size(0) + 1, 1}).narrow(0, 0, 4000);
  const auto collapsed = evaluate_mixture_samples(config, collapsed_x, "collapsed");
  EXPECT_EQ(exact["mode_coverage"]["covered"].get<int>(), 8);
  EXPECT_EQ(collapsed["mode_coverage"]["covered"].get<int>(), 1);
  EXPECT_LT(exact["sliced_w2"].get<double>(), collapsed["sliced_w2"].get<double>());
  EXPECT_LT(exact["mmd2"].get<double>(), collapsed["mmd2"].get<double>());
  EXPECT_THROW(evaluate_mixture_samples(config, torch::zeros({10, 3}), "wide"), InputError);
}

TEST(EvalLibrary, AModelsSamplerIsCheckedAgainstTheModel) {
  RunConfig config;
  const auto process = make_process(config.process);
  // A consistency model takes only the consistency sampler, on the grid it was distilled on.
  config.model.consistency = true;
  config.sampler.name = "heun";
  EXPECT_THROW(sampler_for_model(config, *process, "student.pt"), InputError);
  config.sampler.name = "consistency";
  config.sampler.steps = 2;
  const auto sampler = sampler_for_model(config, *process, "student.pt");
  ASSERT_EQ(sampler.times.size(), 3u);
  EXPECT_GT(sampler.times[0], sampler.times[1]);
  EXPECT_GT(sampler.times[1], sampler.times[2]);
  // A score model: heun reads no eta, so setting it earns a warning naming the key.
  config.model.consistency = false;
  config.sampler = SamplerConfig{};
  config.sampler.eta = 0.5;
  ::testing::internal::CaptureStderr();
  sampler_for_model(config, *process, "model.pt");
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("sampler.eta is ignored"),
            std::string::npos);
  config.sampler.name = "ddim-eta";  // reads it: no warning
  ::testing::internal::CaptureStderr();
  sampler_for_model(config, *process, "model.pt");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(EvalLibrary, AGridFittedForAnotherSamplerEarnsAWarning) {
  testing::TempDir dir;
  RunConfig config;
  const auto process = make_process(config.process);
  config.sampler.name = "ddim";
  config.sampler.times_file =
      dir.write("grid.yaml", "sampler: unipc-bh2-3\ntimes: [1, 0.5, 0.001]\n");
  ::testing::internal::CaptureStderr();
  sampler_for_model(config, *process, "model.pt");
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("fitted for sampler 'unipc-bh2-3'"),
            std::string::npos);
  config.sampler.name = "unipc-bh2-3";
  ::testing::internal::CaptureStderr();
  sampler_for_model(config, *process, "model.pt");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace diffuse
