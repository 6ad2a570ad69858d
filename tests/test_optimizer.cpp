// The optimisers make_optimizer builds, against steps computed by hand in float64: AdamW's
// decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2) and Adam's L2 penalty folded
// into the gradient, which differ by the expected amount.
#include "train/trainer/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace diffuse {
namespace {

constexpr double kEps = 1e-8;  // LibTorch's default; diffuse does not change it

const std::vector<double> kStart = {1.5, -0.7, 0.02, 3.0};
// The last entry has no gradient in the first step: only the weight decay moves it.
const std::vector<std::vector<double>> kGradients = {{0.4, -1.2, 0.0005, 0.0},
                                                     {-0.3, 0.5, 0.001, 0.7}};
const std::vector<double> kRates = {0.1, 0.05};  // as a schedule would set them

TrainConfig config(const std::string& optimizer) {
  TrainConfig c;
  c.optimizer = optimizer;
  c.lr = kRates[0];
  c.beta1 = 0.8;
  c.beta2 = 0.95;
  c.weight_decay = 0.3;
  return c;
}

// Two steps of diffuse's optimiser from kStart.
std::vector<double> run_optimizer(const TrainConfig& c) {
  auto theta = torch::tensor(kStart, torch::kFloat64).requires_grad_(true);
  auto optimizer = make_optimizer(c, {theta});
  for (std::size_t t = 0; t < kGradients.size(); ++t) {
    set_learning_rate(*optimizer, kRates[t]);
    theta.mutable_grad() = torch::tensor(kGradients[t], torch::kFloat64);
    optimizer->step();
  }
  const auto values = theta.detach().contiguous();
  return {values.data_ptr<double>(), values.data_ptr<double>() + values.numel()};
}

// Adam's moments of gradient g, then theta_t = theta_{t-1} - eta_t (mhat / (sqrt(vhat) + eps) +
// decoupled * lambda theta_{t-1}), with g = grad + (1 - decoupled) lambda theta_{t-1}.
// Decoupled: Algorithm 2 of Loshchilov & Hutter with alpha = 1 and eta_t the step's rate
// (LibTorch's AdamW scales the decay by the rate). Not decoupled: Adam on the L2-penalised loss.
std::vector<double> by_hand(const TrainConfig& c, bool decoupled) {
  std::vector<double> theta = kStart, m(kStart.size(), 0.0), v(kStart.size(), 0.0);
  for (std::size_t t = 1; t <= kGradients.size(); ++t) {
    const double eta = kRates[t - 1];
    for (std::size_t i = 0; i < theta.size(); ++i) {
      const double g = kGradients[t - 1][i] + (decoupled ? 0.0 : c.weight_decay * theta[i]);
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      const double mhat = m[i] / (1 - std::pow(c.beta1, t));
      const double vhat = v[i] / (1 - std::pow(c.beta2, t));
      theta[i] -= eta * (mhat / (std::sqrt(vhat) + kEps) +
                         (decoupled ? c.weight_decay * theta[i] : 0.0));
    }
  }
  return theta;
}

void expect_near(const std::vector<double>& actual, const std::vector<double>& expected,
                 const char* what) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], 1e-12) << what << ", entry " << i;
}

TEST(OptimizerTest, AdamWDecaysTheWeightsDecoupledFromTheGradient) {
  expect_near(run_optimizer(config("adamw")), by_hand(config("adamw"), true), "adamw");
}

TEST(OptimizerTest, AdamFoldsWeightDecayIntoTheGradient) {
  expect_near(run_optimizer(config("adam")), by_hand(config("adam"), false), "adam");
}

TEST(OptimizerTest, DecoupledAndL2DecayDifferByTheExpectedAmount) {
  const auto adamw = run_optimizer(config("adamw")), adam = run_optimizer(config("adam"));
  const auto decoupled = by_hand(config("adamw"), true), coupled = by_hand(config("adam"), false);
  for (std::size_t i = 0; i < adamw.size(); ++i)
    EXPECT_NEAR(adamw[i] - adam[i], decoupled[i] - coupled[i], 1e-12) << "entry " << i;
  // With no gradient in the first step AdamW only shrinks the entry by eta lambda theta = 0.09,
  // while Adam normalises the penalty's gradient into a step of about eta = 0.1: a difference
  // far above the tolerance, which grows in the second step.
  EXPECT_GT(std::abs(adamw[3] - adam[3]), 0.02);
  // Without weight decay the two are the same optimiser.
  auto plain_w = config("adamw"), plain = config("adam");
  plain_w.weight_decay = plain.weight_decay = 0.0;
  expect_near(run_optimizer(plain_w), run_optimizer(plain), "no decay");
}

TEST(OptimizerTest, AdamWFirstStepOfAZeroGradientIsPureDecay) {
  auto c = config("adamw");
  auto theta = torch::tensor(kStart, torch::kFloat64).requires_grad_(true);
  auto optimizer = make_optimizer(c, {theta});
  theta.mutable_grad() = torch::zeros({4}, torch::kFloat64);
  optimizer->step();
  for (std::size_t i = 0; i < kStart.size(); ++i)
    EXPECT_NEAR(theta[i].item<double>(), kStart[i] * (1 - c.lr * c.weight_decay), 1e-15);
}

}  // namespace
}  // namespace diffuse
