// Consistency distillation and training: with the exact ODE map as target the loss is
// zero (and not for a wrong student); the teacher's ODE step converges to the exact map at its
// order; one objective step evaluates the teacher once per example per solver evaluation (Euler 1,
// Heun 2, DPM-Solver-2 2: we count batched forward calls of the teacher and the rows they carry,
// the student and target being other models); the discretisation, its N schedule, pair sampling
// and weights; the target network's decay.
#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "models/analytic.h"
#include "models/network_factory.h"
#include "tests/cli_runner.h"
#include "tests/consistency_fixture.h"
#include "tests/network_fixture.h"
#include "tests/sampler_checks.h"
#include "tests/train_fixture.h"
#include "train/consistency/consistency_loss.h"
#include "train/consistency/consistency_objective.h"
#include "train/consistency/consistency_schedule.h"
#include "train/consistency/teacher_step.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuse::testing {
namespace {

const GaussianTarget kGauss{0.5, 0.25, 2};

// x_{t_next} for Gaussian data, and the pair's times, float64.
struct Pair {
  torch::Tensor x0, z, t_now, t_next;
};

Pair gaussian_pair(const ForwardProcess& p, std::int64_t b, std::uint64_t seed) {
  torch::manual_seed(seed);
  Pair pair;
  pair.x0 = kGauss.mean + std::sqrt(kGauss.variance) * torch::randn({b, 2}, torch::kFloat64);
  pair.z = torch::randn({b, 2}, torch::kFloat64);
  // Random pairs t_now < t_next inside the process's range.
  const auto u = torch::rand({b}, torch::kFloat64);
  const double lo = p.t_min(), hi = p.t_max();
  pair.t_next = lo + (hi - lo) * (0.05 + 0.95 * u);
  pair.t_now = lo + (pair.t_next - lo) * 0.7;
  return pair;
}

class PerProcess : public ::testing::TestWithParam<std::string> {};

TEST_P(PerProcess, LossIsZeroWithTheExactOdeMapAsTarget) {
  const auto process = process_of(GetParam());
  const auto pair = gaussian_pair(*process, 64, 1);
  const auto c = coefficients_at(*process, pair.t_next, pair.x0);
  ConsistencyDraw draw;
  draw.t_next = pair.t_next;
  draw.t_now = pair.t_now;
  draw.x_next = c.alpha * pair.x0 + c.sigma * pair.z;
  // The exact ODE map from t_next to t_now, per example.
  const auto r = [&](const torch::Tensor& t) {
    const auto k = coefficients_at(*process, t, pair.x0);
    return std::make_pair(k.alpha,
                          (k.alpha * k.alpha * kGauss.variance + k.sigma * k.sigma).sqrt());
  };
  const auto [a_next, r_next] = r(pair.t_next);
  const auto [a_now, r_now] = r(pair.t_now);
  draw.x_now = a_now * kGauss.mean + (r_now / r_next) * (draw.x_next - a_next * kGauss.mean);
  ExactConsistencyFunction f(process, kGauss), wrong(process, kGauss, 1.05);
  for (const std::string metric : {"l2", "pseudo-huber"}) {
    const auto exact = consistency_losses(f, f, draw, metric, 1e-3);
    EXPECT_LT(exact.abs().max().item<double>(), 1e-12) << metric;
    const auto off = consistency_losses(wrong, f, draw, metric, 1e-3);
    EXPECT_GT(off.mean().item<double>(), 1e-6) << metric;
  }
}

TEST_P(PerProcess, TeacherStepsConvergeToTheExactMapAtTheirOrder) {
  const auto process = process_of(GetParam());
  const auto teacher = gaussian_denoiser(process, kGauss);
  auto pair = gaussian_pair(*process, 32, 2);
  const auto errors = [&](const std::string& solver, double shrink) {
    // A step from t_next to t_next - shrink (t_next - t_min): the local error ~ h^(order + 1).
    const auto t_now = pair.t_next - shrink * (pair.t_next - process->t_min());
    const auto c = coefficients_at(*process, pair.t_next, pair.x0);
    const auto x = c.alpha * pair.x0 + c.sigma * pair.z;
    const auto step = teacher_ode_step(solver, teacher, x, pair.t_next, t_now);
    torch::Tensor exact = torch::empty_like(x);
    for (std::int64_t i = 0; i < x.size(0); ++i)
      exact[i] = exact_flow(*process, kGauss, x[i], pair.t_next[i].item<double>(),
                            t_now[i].item<double>());
    return (step - exact).abs().max().item<double>();
  };
  for (const auto& [solver, order] :
       {std::pair<std::string, int>{"euler", 1}, {"heun", 2}, {"dpm-solver-2", 2}}) {
    const double coarse = errors(solver, 0.02), fine = errors(solver, 0.01);
    // Halving h divides the local error by about 2^(order + 1).
    EXPECT_GT(coarse / fine, std::pow(2.0, order + 1) * 0.7) << GetParam() << " " << solver;
    EXPECT_LT(fine, 1e-2) << GetParam() << " " << solver;
  }
}

INSTANTIATE_TEST_SUITE_P(Processes, PerProcess, ::testing::Values("edm", "rf", "vp-linear"));

// A consistency student of the Gaussian in 2-D under edm, attached to an objective.
struct Student {
  ProcessPtr process = process_of("edm");
  ModelConfig config;
  NetworkModelPtr model;
  Student() {
    config.kind = "mlp";
    config.width = 16;
    config.depth = 1;
    config.embedding_dim = 8;
    config.dim = 2;
    config.sigma_data = 0.5;
    config.parameterization = "edm";
    config.consistency = true;
    torch::manual_seed(0);
    model = make_network(config, process, torch::kFloat64);
  }
  ObjectiveContext context(std::int64_t steps = 100) const {
    return {model, process, config, torch::kFloat64, steps};
  }
};

TEST(ConsistencyObjective, EvaluatesTheTeacherOncePerExamplePerSolverEvaluation) {
  const std::int64_t b = 24;
  for (const auto& [solver, per_step] :
       {std::pair<std::string, int>{"euler", 1}, {"heun", 2}, {"dpm-solver-2", 2}}) {
    Student s;
    auto counting = std::make_shared<CountingModel>(gaussian_denoiser(s.process, kGauss).model());
    DistillConfig config;
    config.teacher = "analytic";
    config.solver = solver;
    ConsistencyObjective objective(config, counting, std::nullopt, 0);
    objective.attach(s.context());
    const auto x0 = torch::randn({b, 2}, torch::kFloat64);
    const auto loss = objective.loss(*s.model, x0, 0, make_generator(4));
    EXPECT_EQ(counting->calls, per_step) << solver;
    EXPECT_EQ(counting->rows, per_step * b) << solver;
    EXPECT_EQ(teacher_evaluations(solver), per_step);
    EXPECT_TRUE(loss.requires_grad());
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
  }
}

TEST(ConsistencyObjective, ConsistencyTrainingNeedsNoTeacher) {
  Student s;
  DistillConfig config;
  config.teacher = "none";
  config.n_schedule = "improved";
  config.metric = "pseudo-huber";
  ConsistencyObjective objective(config, nullptr, std::nullopt, 0);
  objective.attach(s.context());
  const auto loss =
      objective.loss(*s.model, torch::randn({8, 2}, torch::kFloat64), 0, make_generator(5));
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  // iCT's c for sigma_data 0.5: 0.00054 sqrt(D).
  EXPECT_NEAR(objective.huber_c(), 0.00054 * std::sqrt(2.0), 1e-12);
  DistillConfig with_teacher_missing;
  with_teacher_missing.teacher = "analytic";
  EXPECT_THROW((ConsistencyObjective{with_teacher_missing, nullptr, std::nullopt, 0}), InputError);
}

TEST(ConsistencyObjective, TargetFollowsTheModelWithTheConfiguredDecay) {
  for (const double mu : {0.0, 0.9}) {
    Student s;
    DistillConfig config;
    config.teacher = "none";
    config.target_decay = mu;
    ConsistencyObjective objective(config, nullptr, std::nullopt, 0);
    objective.attach(s.context());
    const auto before = objective.target()->module()->parameters()[0].clone();
    {
      torch::NoGradGuard no_grad;
      for (auto& p : s.model->module()->parameters()) p.add_(1.0);
    }
    objective.after_step(0);  // no warm-up: exactly mu from the first update
    const auto after = objective.target()->module()->parameters()[0];
    const auto live = s.model->module()->parameters()[0];
    EXPECT_TRUE(torch::allclose(after, mu * before + (1.0 - mu) * live, 1e-12, 1e-12)) << mu;
  }
}

TEST(ConsistencyObjective, ResumeIsBitIdenticalWithTheTargetInTheCheckpoint) {
  TempDir whole, parts;
  const auto configure = [](const std::string& out) {
    auto s = tiny_ring_setup(out);
    s.process.kind = "edm";
    s.model.consistency = true;
    s.config["process"] = config::to_node(s.process);
    s.config["model"] = config::to_node(s.model);
    DistillConfig d;
    d.teacher = "analytic";
    d.n = 8;
    d.target_decay = 0.9;  // the target differs from the model: it must be saved
    d.eval_samples = 0;
    GaussianMixture ring = *make_mixture(s.data);
    s.objective = std::make_shared<ConsistencyObjective>(
        d, std::make_shared<AnalyticMixtureScore>(ring.to(torch::kFloat32), make_process(s.process)),
        std::nullopt, s.seed);
    return s;
  };
  const auto whole_setup = configure(whole.path().string());
  Trainer uninterrupted(whole_setup);
  uninterrupted.run();
  {
    Trainer first(configure(parts.path().string()));
    TrainControl control;
    control.stop_at = 10;
    EXPECT_EQ(first.run(control).step, 10);
  }
  const auto parts_setup = configure(parts.path().string());
  Trainer resumed(parts_setup);
  resumed.resume(parts.file("checkpoint.pt"));
  EXPECT_EQ(resumed.run().step, 20);
  expect_equal_weights(*uninterrupted.model(), *resumed.model(), "model");
  expect_equal_weights(*uninterrupted.ema_model(), *resumed.ema_model(), "ema");
  const auto target = [](const TrainSetup& s) {
    return std::static_pointer_cast<ConsistencyObjective>(s.objective)->target();
  };
  expect_equal_weights(*target(whole_setup), *target(parts_setup), "target");
  // The run's target is not the model (mu = 0.9), so restoring it was needed.
  const auto pm = uninterrupted.model()->module()->parameters()[0];
  EXPECT_FALSE(torch::equal(pm, target(whole_setup)->module()->parameters()[0]));
}

TEST(ConsistencySchedule, ImprovedNDoublesFromNMinToNMax) {
  DistillConfig c;
  EXPECT_EQ(discretisation_size(c, 0, 1000), 18);  // fixed: N
  c.n_schedule = "improved";                       // s0 = 10, s1 = 1280: 8 stages of K / 8 steps
  EXPECT_EQ(discretisation_size(c, 0, 8000), 11);
  EXPECT_EQ(discretisation_size(c, 999, 8000), 11);
  EXPECT_EQ(discretisation_size(c, 1000, 8000), 21);
  EXPECT_EQ(discretisation_size(c, 7999, 8000), 1281);
  c.n_max = 5;
  EXPECT_THROW(discretisation_size(c, 0, 10), InputError);
}

TEST(ConsistencySchedule, KarrasDiscretisationIsTheCmPapers) {
  const auto process = process_of("edm");
  DistillConfig c;
  const auto t = discretisation(*process, c, 18);
  ASSERT_EQ(t.size(), 18u);
  const double lo = std::pow(0.002, 1 / 7.0), hi = std::pow(80.0, 1 / 7.0);
  for (int i = 0; i < 18; ++i)  // Song et al. 2023, Sec. 5 / App. C: t_i of EDM with rho = 7
    EXPECT_NEAR(t[i], std::pow(lo + i / 17.0 * (hi - lo), 7.0), 1e-9 * t[i] + 1e-12) << i;
}

TEST(ConsistencySchedule, PairsWeightsAndLogNormalSampling) {
  const auto process = process_of("edm");
  DistillConfig c;
  const auto t = discretisation(*process, c, 40);
  auto gen = make_generator(9);
  const auto uniform = sample_pairs(*process, c, t, 5000, gen);
  EXPECT_EQ(uniform.min().item<std::int64_t>(), 0);
  EXPECT_EQ(uniform.max().item<std::int64_t>(), 38);
  c.index_sampling = "log-normal";  // log s ~ N(-1.1, 2^2): pairs near s = exp(-1.1) = 0.33
  const auto lognormal = sample_pairs(*process, c, t, 5000, gen);
  const auto s_drawn = torch::tensor(t, torch::kFloat64).index_select(0, lognormal).log();
  EXPECT_NEAR(s_drawn.median().item<double>(), -1.1, 0.5);
  c.weighting = "inverse-gap";
  const auto pairs = torch::tensor({0, 10, 38}, torch::kInt64);
  const auto w = pair_weights(*process, c, t, pairs);
  for (int k = 0; k < 3; ++k) {
    const auto i = pairs[k].item<std::int64_t>();
    EXPECT_NEAR(w[k].item<double>(), 1.0 / (t[i + 1] - t[i]), 1e-9 / (t[i + 1] - t[i]));
  }
}

}  // namespace
}  // namespace diffuse::testing
