// Direction of the one-step bound on a small instance: consistency distillation (Song et al.
// 2023, Algorithm 2) of the analytic 8-Gaussian ring's probability-flow ODE, Heun teacher steps
// on a K-point Karras grid, the student measured by its RMS distance to the exact ODE map (rk45
// with the exact score) from the same initial noise. The seed talk 'Learning Process & Sampling
// Complexity of Diffusion Models' (Shuai Li, 2025) bounds the one-step W2^2 by a term
// L_f^2 (T/delta)^(2/a) / (K^2 delta^4): a student of a reasonable K must be much closer to the
// exact map than one of K = 2, whose teacher is a single Heun step from t_max to t_min. At equal
// K the talk (after Yang et al., "Elucidating Rectified Flow with Deterministic Sampler ...")
// favours rectified flow (T = O(1)) over VE-EDM (T = O(1/eps)); results/one_step/README.md
// measures both at larger budgets.
#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "models/analytic.h"
#include "models/denoiser.h"
#include "samplers/rk45.h"
#include "tests/temp_dir.h"
#include "tests/train_fixture.h"
#include "train/consistency/consistency_objective.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace diffuse::testing {
namespace {

constexpr std::int64_t kDirectionSamples = 2000;

// The student's one-step map from x_T ~ N(0, prior_std^2 I) and the exact ODE map of the same
// x_T: sqrt(mean ||f(x_T) - x*(x_T)||^2).
double one_step_distance(const std::string& process_kind, int k, std::uint64_t seed,
                         std::int64_t steps = 400) {
  TempDir dir;
  auto s = tiny_ring_setup(dir.path().string());
  s.seed = seed;
  s.process.kind = process_kind;
  s.model.width = 64;
  s.model.consistency = true;
  s.train.steps = steps;
  s.train.batch_size = 256;
  s.train.lr = 2e-3;
  s.train.warmup = 50;
  s.train.schedule = "cosine";
  s.train.ema_decay = 0.99;  // a short run: the 0.999 default would still remember the start
  s.train.log_every = steps;
  s.train.checkpoint_every = steps;
  s.train.eval_size = 0;
  s.config["seed"] = seed;
  s.config["process"] = config::to_node(s.process);
  s.config["model"] = config::to_node(s.model);
  s.config["train"] = config::to_node(s.train);
  DistillConfig d;
  d.teacher = "analytic";
  d.solver = "heun";
  d.grid = "karras";
  d.n = k;
  d.eval_samples = 0;
  const auto process = make_process(s.process);
  const auto ring = *make_mixture(s.data);
  auto teacher = std::make_shared<AnalyticMixtureScore>(ring.to(torch::kFloat32), process);
  s.objective = std::make_shared<ConsistencyObjective>(d, teacher, ring, s.seed);
  Trainer trainer(s);
  trainer.run();

  torch::manual_seed(1000 + seed);
  const auto x_T = torch::randn({kDirectionSamples, 2}) * process->prior_std();
  torch::NoGradGuard no_grad;
  // One consistency step: f(x_T, t_max), the first point of the distillation grid.
  const auto student = Denoiser(trainer.ema_model(), process).x0(x_T, process->t_max());
  auto exact_teacher =
      std::make_shared<AnalyticMixtureScore>(ring.to(torch::kFloat64), process);
  const ToleranceOptions tight{1e-6, 1e-6, 100000};
  const auto exact = rk45_flow(Denoiser(exact_teacher, process), x_T.to(torch::kFloat64),
                               process->t_max(), process->t_min(), tight)
                         .x;
  return (student.to(torch::kFloat64) - exact).pow(2).sum(1).mean().sqrt().item<double>();
}

// Thresholds from the spread over training seeds 1-5 on this machine (400 steps, batch 256, mlp
// width 64 depth 2, 2000 x_T), each at least 4 sd from the mean. Rerun the spread with
//   build/diffuse_tests --gtest_also_run_disabled_tests --gtest_filter='OneStep*Spread*'
//   rf  K = 2:  mean 3.374  sd 0.0016      rf  K = 12: mean 0.894  sd 0.023
//   rf  K = 4:  mean 1.048  sd 0.013       edm K = 4:  mean 22.08  sd 0.070
TEST(OneStepDirection, DISABLED_SpreadOverSeeds) {
  for (const auto& [kind, k] : std::vector<std::pair<std::string, int>>{
           {"rf", 2}, {"rf", 12}, {"rf", 4}, {"edm", 4}}) {
    std::vector<double> d;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      d.push_back(one_step_distance(kind, k, seed));
      std::printf("%s K=%d seed %d: %.4f\n", kind.c_str(), k, static_cast<int>(seed), d.back());
    }
    double mean = 0, var = 0;
    for (const double v : d) mean += v / d.size();
    for (const double v : d) var += (v - mean) * (v - mean) / (d.size() - 1);
    std::printf("%s K=%d: mean %.4f sd %.4f\n", kind.c_str(), k, mean, std::sqrt(var));
  }
}

// The K term of the bound: K = 2 (one Heun step from t_max to t_min) against K = 12.
TEST(OneStepDirection, StudentOfAReasonableKIsMuchCloserToTheExactMapThanOfKTwo) {
  const double k2 = one_step_distance("rf", 2, 1), k12 = one_step_distance("rf", 12, 1);
  EXPECT_GT(k2, 3.2) << "K = 2";    // mean 3.374, sd 0.0016: > 100 sd below
  EXPECT_LT(k12, 1.0) << "K = 12";  // mean 0.894, sd 0.023: 4.6 sd above
  EXPECT_GT(k2 / k12, 3.0);         // mean 3.77, sd about 0.10: 7.7 sd below
}

// At equal K and budget, rf's horizon T = 1 against edm's sigma_max = 80 (the talk's T = O(1)
// against O(1/eps)): with K = 4 the edm grid's steps at large sigma are far too coarse.
TEST(OneStepDirection, RfBeatsEdmAtEqualSmallK) {
  const double rf = one_step_distance("rf", 4, 1), edm = one_step_distance("edm", 4, 1);
  EXPECT_LT(rf, 1.2) << "rf";                 // mean 1.048, sd 0.013: 11 sd above
  EXPECT_GT(edm, 20.0) << "edm";              // mean 22.08, sd 0.070: 30 sd below
  EXPECT_GT(edm / rf, 10.0) << rf << " " << edm;  // mean 21.1, sd about 0.3
}

}  // namespace
}  // namespace diffuse::testing
