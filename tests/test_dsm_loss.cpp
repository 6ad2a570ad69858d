// DSM losses: the analytic oracle (the exact score, the objective's minimiser) scores
// lower than a perturbed oracle under every process's loss, its eps loss equals the closed-form
// minimum for Gaussian data, the weightings agree where they must, and times are drawn by each
// process's convention.
#include "core/base/runtime.h"
#include "core/data/mixture_config.h"
#include "core/process/process.h"
#include "models/analytic.h"
#include "models/denoiser.h"
#include "tests/process_fixture.h"
#include "train/dsm/dsm_eval.h"
#include "train/dsm/dsm_loss.h"
#include "train/dsm/time_sampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuse {
namespace {

using testing::process_of;

std::shared_ptr<AnalyticMixtureScore> ring_oracle(const ProcessPtr& process) {
  DataConfig data;  // ring8
  return std::make_shared<AnalyticMixtureScore>(*make_mixture(data), process);
}

// The oracle with every eps prediction shifted by `shift` (as an eps model).
class ShiftedModel : public ScoreModel {
 public:
  ShiftedModel(ScoreModelPtr inner, ProcessPtr process, double shift)
      : inner_(std::move(inner)), process_(std::move(process)), shift_(shift) {}
  Parameterization parameterization() const override { return Parameterization::eps; }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    const auto c = coefficients_at(*process_, t, x);
    return split(inner_->parameterization(), inner_->forward(x, t), x, c).eps + shift_;
  }
  std::string describe() const override { return "shifted oracle"; }

 private:
  ScoreModelPtr inner_;
  ProcessPtr process_;
  double shift_;
};

std::vector<DsmDraw> ring_draws(const ProcessPtr& process, const TimeSampler& times,
                                std::int64_t n) {
  DataConfig data;
  const auto x0 = sample_data(data, n, make_generator(11));
  return fixed_draws(*process, x0, times, make_generator(12));
}

class DsmLossPerProcess : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(DsmLossPerProcess, OracleBeatsAPerturbedOracle) {
  const auto& [process_kind, loss_kind] = GetParam();
  const auto process = process_of(process_kind);
  const auto oracle = ring_oracle(process);
  const DsmLoss loss(process, loss_kind, 2.8);
  const TimeSampler times(process, "auto", -1.2, 1.2);
  const auto draws = ring_draws(process, times, 8192);
  for (double shift : {0.2, -0.3}) {
    ShiftedModel perturbed(oracle, process, shift);
    const auto c = compare_losses(perturbed, oracle.get(), loss, draws);
    ASSERT_TRUE(c.gap.has_value());
    EXPECT_GT(*c.gap, 3.0 * *c.gap_stderr) << process_kind << " shift " << shift;
    EXPECT_LT(*c.oracle_loss, c.model_loss);
  }
  // The oracle's loss is exactly the minimum: zero gap with itself.
  const auto self = compare_losses(*oracle, oracle.get(), loss, draws);
  EXPECT_NEAR(*self.gap, 0.0, 1e-6);
  EXPECT_NEAR(*self.score_error_sigma2, 0.0, 1e-10);
}

TEST(DsmScoreErrorTest, AnEpsShiftGivesItsSquareAndTheScoreErrorDividesBySigmaSquared) {
  // eps_hat = eps* + 0.3 in every coordinate: ||eps_hat - eps*||^2 / D = 0.09 at every draw, and
  // the score error (s = -eps / sigma) is 0.09 E[1 / sigma_t^2].
  const auto process = process_of("vp-linear");
  const auto oracle = ring_oracle(process);
  const TimeSampler times(process, "uniform", 0, 1);
  const auto draws = ring_draws(process, times, 4096);
  ShiftedModel shifted(oracle, process, 0.3);
  const auto c = compare_losses(shifted, oracle.get(), DsmLoss(process, "eps", 2.8), draws);
  EXPECT_NEAR(*c.score_error_sigma2, 0.09, 1e-9);
  double inverse_variance = 0.0;
  for (const auto& d : draws)
    inverse_variance += process->sigma(d.t).square().reciprocal().sum().item<double>();
  inverse_variance /= static_cast<double>(c.samples);
  EXPECT_NEAR(*c.score_error, 0.09 * inverse_variance, 1e-9 * inverse_variance);
}

INSTANTIATE_TEST_SUITE_P(Dsm, DsmLossPerProcess,
                         ::testing::Values(std::pair<std::string, std::string>{"vp-linear", "eps"},
                                           std::pair<std::string, std::string>{"edm", "edm"},
                                           std::pair<std::string, std::string>{"rf", "velocity"},
                                           std::pair<std::string, std::string>{"ve", "score"},
                                           std::pair<std::string, std::string>{"vp-cosine", "v"},
                                           std::pair<std::string, std::string>{"ddpm", "x0"}),
                         [](const auto& info) {
                           std::string name = info.param.first;
                           for (auto& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

// For data N(m, s^2 I): E[eps | x_t] is linear and the eps loss's minimum is
// E ||eps - E[eps | x_t]||^2 / D = alpha^2 s^2 / (alpha^2 s^2 + sigma^2).
TEST(DsmLossTest, OracleEpsLossEqualsTheAnalyticMinimum) {
  const auto process = process_of("vp-linear");
  DataConfig data;
  data.kind = "mixture";
  ComponentConfig component;
  component.mean = {1.0, -1.0};
  component.iso = 0.25;
  data.components = {component};
  const auto mixture = *make_mixture(data);
  const auto oracle = std::make_shared<AnalyticMixtureScore>(mixture, process);
  const DsmLoss loss(process, "eps", 1.0);
  const std::int64_t n = 100000;
  for (double t : {0.05, 0.3, 0.8}) {
    const auto x0 = mixture.sample(n, make_generator(3)).x;
    const auto draw = make_draw(*process, x0, torch::full({n}, t, torch::kFloat64),
                                make_generator(4));
    const auto losses = loss(*oracle, draw);
    const double a2 = std::pow(process->alpha(t), 2), s2 = std::pow(process->sigma(t), 2);
    const double expected = a2 * 0.25 / (a2 * 0.25 + s2);
    const double stderr_ = losses.std().item<double>() / std::sqrt(double(n));
    EXPECT_NEAR(losses.mean().item<double>(), expected, 5.0 * stderr_) << "t = " << t;
  }
}

// sigma^2 ||s_hat + eps / sigma||^2 = ||-sigma s_hat - eps||^2: the VE score loss is the eps
// loss of the same prediction, whatever the model's own parameterization.
TEST(DsmLossTest, SigmaSquaredScoreLossIsTheEpsLoss) {
  const auto process = process_of("ve");
  const auto oracle = ring_oracle(process);
  ShiftedModel model(oracle, process, 0.3);
  const TimeSampler times(process, "uniform", 0, 1);
  const auto draws = ring_draws(process, times, 512);
  const auto score = per_sample_losses(model, DsmLoss(process, "score", 1.0), draws);
  const auto eps = per_sample_losses(model, DsmLoss(process, "eps", 1.0), draws);
  EXPECT_TRUE(torch::allclose(score, eps, 1e-5, 1e-6));
}

TEST(DsmLossTest, AutoLossFollowsTheModel) {
  EXPECT_EQ(resolve_loss_kind("auto", "edm"), "edm");
  EXPECT_EQ(resolve_loss_kind("score", "eps"), "score");
}

TEST(DsmTimeSamplerTest, UniformCoversTheProcessRange) {
  const auto process = process_of("vp-linear");
  const TimeSampler times(process, "auto", -1.2, 1.2);
  EXPECT_EQ(times.kind(), "uniform");
  const auto t = times.sample(20000, make_generator(1));
  EXPECT_EQ(t.scalar_type(), torch::kFloat64);
  EXPECT_GE(t.min().item<double>(), process->t_min());
  EXPECT_LE(t.max().item<double>(), process->t_max());
  EXPECT_NEAR(t.mean().item<double>(), 0.5 * (process->t_min() + process->t_max()), 0.01);
}

TEST(DsmTimeSamplerTest, EdmDrawsLogNormalSigma) {
  const auto process = process_of("edm");
  const TimeSampler times(process, "auto", -1.2, 1.2);
  EXPECT_EQ(times.kind(), "log-normal");
  const auto log_sigma = times.sample(40000, make_generator(2)).log();
  EXPECT_NEAR(log_sigma.median().item<double>(), -1.2, 0.03);
  EXPECT_GE(log_sigma.min().item<double>(), std::log(process->t_min()) - 1e-12);
  // Log-normal on another process: the noise level sigma / alpha is what is log-normal.
  const auto vp = process_of("vp-linear");
  const auto t = TimeSampler(vp, "log-normal", 0.0, 0.5).sample(40000, make_generator(3));
  const auto noise = (vp->sigma(t) / vp->alpha(t)).log();
  EXPECT_NEAR(noise.median().item<double>(), 0.0, 0.02);
}

}  // namespace
}  // namespace diffuse
