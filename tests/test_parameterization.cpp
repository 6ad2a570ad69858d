// Parameterization conversions (core/process/parameterization.h): for every process and every
// parameterization, predict() then split() gives back (x0, eps); the score view is -eps / sigma;
// names round trip.
#include "core/base/errors.h"
#include "core/process/parameterization.h"
#include "core/process/process.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>

namespace diffuse {
namespace {

const Parameterization kAll[] = {Parameterization::eps, Parameterization::x0, Parameterization::v,
                                 Parameterization::velocity, Parameterization::score};

class ParameterizationOf : public ::testing::TestWithParam<std::string> {};

// Random x0, eps [B, 3] and t [B, 1] uniform in [t_min, t_max], float64. The tolerance is
// 1e-12 times the conditioning max(1, sigma/alpha, alpha/sigma) of the 2x2 solve, per sample
// (recovering x0 from eps divides by alpha, eps from x0 by sigma; rf's alpha -> 0 at t -> 1).
TEST_P(ParameterizationOf, PredictThenSplitRecoversCleanAndNoise) {
  ProcessConfig config;
  config.kind = GetParam();
  const auto process = make_process(config);
  auto generator = at::detail::createCPUGenerator(7);
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t b = 256;
  const auto x0 = torch::randn({b, 3}, generator, options);
  const auto eps = torch::randn({b, 3}, generator, options);
  const auto t = process->t_min() +
                 torch::rand({b, 1}, generator, options) * (process->t_max() - process->t_min());
  const ProcessCoefficients c{process->alpha(t), process->sigma(t), process->dalpha_dt(t),
                              process->dsigma_dt(t)};
  const auto x = c.alpha * x0 + c.sigma * eps;
  const auto ratio = c.sigma / c.alpha;
  const auto tolerance =
      1e-12 * torch::maximum(torch::maximum(ratio, 1.0 / ratio), torch::ones_like(t));
  const auto score = -eps / c.sigma;

  for (const auto p : kAll) {
    const auto prediction = predict(p, x0, eps, c);
    const auto back = split(p, prediction, x, c);
    EXPECT_TRUE(((back.x0 - x0).abs() <= tolerance).all().item<bool>())
        << to_string(p) << ": x0 error " << (back.x0 - x0).abs().max().item<double>();
    EXPECT_TRUE(((back.eps - eps).abs() <= tolerance).all().item<bool>())
        << to_string(p) << ": eps error " << (back.eps - eps).abs().max().item<double>();
    // The score view of any prediction is -eps / sigma.
    const auto score_view = score_of_eps(back.eps, c.sigma);
    EXPECT_TRUE(((score_view - score).abs() <= tolerance / c.sigma).all().item<bool>())
        << to_string(p) << ": score error " << (score_view - score).abs().max().item<double>();
  }
  EXPECT_TRUE(torch::equal(predict(Parameterization::score, x0, eps, c), score));
  // v = alpha eps - sigma x0 and velocity = alpha' x0 + sigma' eps, as docs/design.md defines them.
  EXPECT_TRUE(torch::allclose(predict(Parameterization::v, x0, eps, c),
                              c.alpha * eps - c.sigma * x0, 0, 0));
  EXPECT_TRUE(torch::allclose(predict(Parameterization::velocity, x0, eps, c),
                              c.dalpha_dt * x0 + c.dsigma_dt * eps, 0, 0));
}

// A sampler's shared time: the host-double split is the tensor split with the same coefficients.
TEST_P(ParameterizationOf, ScalarCoefficientsSplitLikeTensorCoefficients) {
  ProcessConfig config;
  config.kind = GetParam();
  const auto process = make_process(config);
  auto generator = at::detail::createCPUGenerator(11);
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const auto x = torch::randn({8, 3}, generator, options);
  const auto prediction = torch::randn({8, 3}, generator, options);
  const double t = process->t_min() + 0.4 * (process->t_max() - process->t_min());
  const ScalarCoefficients s{process->alpha(t), process->sigma(t), process->dalpha_dt(t),
                             process->dsigma_dt(t)};
  const auto scalar = [&](double v) { return torch::scalar_tensor(v, options); };
  const ProcessCoefficients c{scalar(s.alpha), scalar(s.sigma), scalar(s.dalpha_dt),
                              scalar(s.dsigma_dt)};
  for (const auto p : kAll) {
    const auto from_doubles = split(p, prediction, x, s);
    const auto from_tensors = split(p, prediction, x, c);
    EXPECT_TRUE(torch::allclose(from_doubles.x0, from_tensors.x0, 1e-14, 1e-14)) << to_string(p);
    EXPECT_TRUE(torch::allclose(from_doubles.eps, from_tensors.eps, 1e-14, 1e-14))
        << to_string(p);
  }
}

std::string kind_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Parameterization, ParameterizationOf,
                         ::testing::ValuesIn(process_kinds()), kind_name);

TEST(Parameterization, NamesRoundTrip) {
  const auto& names = parameterization_names();
  ASSERT_EQ(names.size(), std::size(kAll));
  for (const auto& name : names) EXPECT_EQ(to_string(parse_parameterization(name)), name);
  for (const auto p : kAll) EXPECT_EQ(parse_parameterization(to_string(p)), p);
  EXPECT_EQ(parse_parameterization("v"), Parameterization::v);
  EXPECT_EQ(to_string(Parameterization::velocity), "velocity");
}

TEST(Parameterization, UnknownNameIsAnInputError) {
  for (const std::string name : {"epsilon", "EPS", "", "x_0"}) {
    try {
      parse_parameterization(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + name + "'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace diffuse
