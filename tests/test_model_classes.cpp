// The model classes of the pretraining theory (seed talk "Learning Process & Sampling Complexity
// of Diffusion Models", table "Much Smaller Model w/ Sufficiently Good Performance"), in the
// direction results/model_classes measures at full size: on the 16-D multi-manifold mixture the
// Gaussian class (`linear`) is held at its approximation error (the table's "+ Const") whatever
// the data size, while the Gaussian-mixture class (`two-layer`) reaches far lower and its
// estimation error falls as the training set grows.
#include "core/base/runtime.h"
#include "core/data/mixture_config.h"
#include "models/analytic.h"
#include "tests/temp_dir.h"
#include "train/dsm/dsm_eval.h"
#include "train/trainer/trainer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuse::testing {
namespace {

// The theory's estimation error in eps units, E_t E sigma_t^2 ||s - grad log q_t||^2 / D, of a
// short run on `data_size` draws (0: fresh draws every step), on 8192 fixed held-out draws.
double estimation_error(const std::string& kind, std::int64_t data_size, std::uint64_t seed,
                        std::int64_t steps = 600) {
  TempDir dir;
  TrainSetup s;
  s.seed = seed;
  s.process.kind = "vp-linear";
  s.data.kind = "multimanifold";
  s.model.kind = kind;
  s.model.hidden = 64;
  s.model.components = 6;  // L M = 3 subspaces x 2 Gaussians
  s.train.steps = steps;
  s.train.batch_size = 256;  // a set smaller than a batch fills it with whole passes
  s.train.data_size = data_size;
  s.train.lr = 3e-3;
  s.train.warmup = 100;
  s.train.schedule = "cosine";
  s.train.log_every = steps;
  s.train.checkpoint_every = steps;
  s.train.eval_size = 0;
  s.train.out = dir.path().string();
  s.options = torch::TensorOptions().dtype(torch::kFloat32);
  s.config = YAML::Node(YAML::NodeType::Map);
  s.config["process"] = config::to_node(s.process);
  s.config["data"] = config::to_node(s.data);
  s.config["model"] = config::to_node(s.model);
  s.config["train"] = config::to_node(s.train);
  Trainer trainer(s);
  trainer.run();

  const auto data = resolve_data_config(s.data);
  AnalyticMixtureScore oracle(make_mixture(data)->to(s.options), trainer.process());
  const auto x0 = sample_data(data, 8192, make_generator(1000 + seed)).to(torch::kFloat32);
  const TimeSampler times(trainer.process(), "uniform", 0, 1);
  const auto draws = fixed_draws(*trainer.process(), x0, times, make_generator(2000 + seed));
  const DsmLoss loss(trainer.process(), "eps", 1.0);
  return *compare_losses(*trainer.ema_model(), &oracle, loss, draws).score_error_sigma2;
}

// Measured over training seeds 0-4 at 600 steps (`diffuse train` + `eval --model`, 8192 draws;
// mean and sd): linear on fresh draws 0.0327 (0.0006), on 64 draws 0.0355 (0.0012); two-layer on
// fresh draws 0.0096 (0.0004). Each bound sits at least 4 sd of its difference from the means.
TEST(ModelClasses, TheGaussianClassStopsAtItsApproximationError) {
  const double linear = estimation_error("linear", 0, 0);
  const double linear_small = estimation_error("linear", 64, 0);
  const double two_layer = estimation_error("two-layer", 0, 0);
  // 0.0327 - 2.5 x 0.0096 = 0.0087, 7 sd: the mixture class reaches far below the Gaussian one.
  EXPECT_GT(linear, 2.5 * two_layer) << "linear " << linear << ", two-layer " << two_layer;
  // 1.5 x 0.0327 - 0.0355 = 0.0136, 9 sd: 32x fewer draws cost the Gaussian class little, its
  // error is its approximation error.
  EXPECT_LT(linear_small, 1.5 * linear) << "linear on 64 draws " << linear_small;
}

// Which 64 draws a seed picks moves the small set's error a lot, so the test averages log ratios
// over three seeds. Measured at 1500 steps over seeds 0-4: error on 64 draws 0.0113 (sd 0.0031),
// on 2048 draws 0.0051 (0.0008); log of their ratio per seed 0.77 (sd 0.30), so the mean of three
// has sd 0.17 and the bound log 1.2 = 0.18 sits 3.4 sd below it. With train.data_size ignored
// (fresh draws for both sizes, broken on purpose once) the two runs coincide: log ratio 0.
TEST(ModelClasses, TheMixtureClassErrorFallsWithTheTrainingSetSize) {
  double mean_log_ratio = 0.0;
  for (std::uint64_t seed : {0, 1, 2}) {
    const double small = estimation_error("two-layer", 64, seed, 1500);
    const double large = estimation_error("two-layer", 2048, seed, 1500);
    mean_log_ratio += std::log(small / large) / 3.0;
  }
  EXPECT_GT(mean_log_ratio, std::log(1.2)) << "two-layer: error on 64 draws / on 2048 draws";
}

}  // namespace
}  // namespace diffuse::testing
