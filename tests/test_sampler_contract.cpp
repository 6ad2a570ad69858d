// The contract every sampler_registry() row must pass unchanged: shape,
// dtype and device kept; equal seeds give equal output; the model is called exactly the reported
// NFE times; batch-invariant seeding; bad input throws InputError. Rows added later are covered
// automatically. Each row runs on its first supported process (vp-linear when it supports all),
// with a ddpm grid on discrete processes and a logSNR grid otherwise, against the analytic
// oracle of a two-component Gaussian mixture in 2-D.
#include "core/base/errors.h"
#include "core/math/mixture.h"
#include "models/analytic.h"
#include "samplers/generate.h"
#include "samplers/registry.h"
#include "tests/sampler_checks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

namespace diffuse {
namespace {

constexpr int kSteps = 6;

struct Setup {
  ProcessPtr process;
  SamplerConfig config;
};

Setup setup_for(const SamplerInfo& row) {
  ProcessConfig process_config;
  process_config.kind = row.processes.empty() ? "vp-linear" : row.processes.front();
  Setup s;
  s.process = make_process(process_config);
  s.config.name = row.name;
  s.config.steps = kSteps;
  s.config.grid = s.process->num_discrete_steps() ? "ddpm" : "logsnr";
  s.config.s_churn = 5.0;  // heun-churn: exercise its noise
  s.config.rtol = 1e-4;    // rk45: few evaluations
  s.config.atol = 1e-4;
  return s;
}

Denoiser mixture_denoiser(const ProcessPtr& process) {
  const auto f64 = torch::kFloat64;
  GaussianMixture mixture(
      {GaussianComponent::isotropic(0.3, torch::tensor({-1.0, 0.5}, f64), 0.1),
       GaussianComponent::isotropic(0.7, torch::tensor({1.0, -0.5}, f64), 0.2)});
  return Denoiser(std::make_shared<AnalyticMixtureScore>(mixture, process), process);
}

GenerateResult draw(const Setup& s, const Denoiser& denoiser, std::int64_t n,
                    std::int64_t batch, std::uint64_t seed,
                    torch::TensorOptions options = torch::kFloat64) {
  GenerateRequest request;
  request.num_samples = n;
  request.batch_size = batch;
  request.seed = seed;
  return generate(s.config, denoiser, {2}, options, request);
}

class SamplerContract : public ::testing::TestWithParam<std::string> {
 protected:
  const SamplerInfo& row() const { return find_sampler(GetParam()); }
};

TEST_P(SamplerContract, KeepsShapeDtypeAndDevice) {
  const auto s = setup_for(row());
  const auto denoiser = mixture_denoiser(s.process);
  std::vector<torch::Device> devices = {torch::kCPU};
  if (torch::cuda::is_available()) devices.emplace_back(torch::kCUDA);
  for (const auto device : devices) {
    for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
      const auto options = torch::TensorOptions().dtype(dtype).device(device);
      NoiseSource noise(3, 0);
      const auto x_T = noise.next({12, 2}, options) * s.process->prior_std();
      const auto x = run_sampler(s.config, denoiser, x_T, noise);
      EXPECT_EQ(x.sizes(), x_T.sizes()) << device << " " << dtype;
      EXPECT_EQ(x.scalar_type(), dtype) << device;
      EXPECT_EQ(x.device(), x_T.device()) << dtype;
      EXPECT_TRUE(torch::isfinite(x).all().item<bool>()) << device << " " << dtype;
    }
  }
}

TEST_P(SamplerContract, EqualSeedsGiveEqualOutput) {
  const auto s = setup_for(row());
  const auto denoiser = mixture_denoiser(s.process);
  const auto a = draw(s, denoiser, 20, 20, 11).samples;
  const auto b = draw(s, denoiser, 20, 20, 11).samples;
  EXPECT_TRUE(torch::equal(a, b));
  // Another seed: another x_T (and, for stochastic rows, other draws).
  const auto c = draw(s, denoiser, 20, 20, 12).samples;
  EXPECT_FALSE(torch::equal(a, c));
}

TEST_P(SamplerContract, CallsTheModelTheReportedNumberOfTimes) {
  auto s = setup_for(row());
  auto denoiser = mixture_denoiser(s.process);
  for (const bool final_denoise : {false, true}) {
    s.config.final_denoise = final_denoise;
    NoiseSource noise(5, 0);
    const auto x_T = noise.next({8, 2}, torch::kFloat64) * s.process->prior_std();
    denoiser.reset_evaluations();
    run_sampler(s.config, denoiser, x_T, noise);
    const auto spent = denoiser.evaluations();
    if (row().adaptive) {
      // Known only after the run: positive, within the budget, the same for the same input,
      // and what generate() reports.
      EXPECT_EQ(sampler_nfe(s.config, *s.process), -1);
      EXPECT_GT(spent, 0);
      EXPECT_LE(spent, s.config.max_nfe + (final_denoise ? 1 : 0));
      NoiseSource again(5, 0);
      const auto same_x_T = again.next({8, 2}, torch::kFloat64) * s.process->prior_std();
      denoiser.reset_evaluations();
      run_sampler(s.config, denoiser, same_x_T, again);
      EXPECT_EQ(denoiser.evaluations(), spent);
    } else {
      EXPECT_EQ(spent, row().nfe(kSteps) + (final_denoise ? 1 : 0)) << final_denoise;
      EXPECT_EQ(spent, sampler_nfe(s.config, *s.process)) << final_denoise;
    }
  }
  // generate() reports what one batch spent.
  s.config.final_denoise = false;
  const auto reported = draw(s, denoiser, 10, 4, 1).nfe;
  if (row().adaptive)
    EXPECT_GT(reported, 0);
  else
    EXPECT_EQ(reported, row().nfe(kSteps));
}

TEST_P(SamplerContract, SeedingIsBatchInvariant) {
  const auto s = setup_for(row());
  const auto denoiser = mixture_denoiser(s.process);
  const auto big = draw(s, denoiser, 100, 100, 7).samples;
  const auto small = draw(s, denoiser, 10, 10, 7).samples;
  const auto split = draw(s, denoiser, 10, 3, 7).samples;  // batches of 3, 3, 3, 1
  EXPECT_TRUE(torch::allclose(big.narrow(0, 0, 10), small, 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(split, small, 1e-10, 1e-10));
}

TEST_P(SamplerContract, RejectsBadInput) {
  auto s = setup_for(row());
  const auto denoiser = mixture_denoiser(s.process);
  NoiseSource noise(1, 0);
  const auto x_T = noise.next({4, 2}, torch::kFloat64);
  s.config.steps = 0;
  EXPECT_THROW(sampler_grid(s.config, *s.process), InputError);
  EXPECT_THROW(run_sampler(s.config, denoiser, x_T, noise), InputError);
  s.config.steps = kSteps;
  if (row().processes.empty()) return;  // every process is supported
  for (const auto& kind : process_kinds()) {
    if (row().supports(*testing::process_of(kind))) continue;
    const auto other = testing::process_of(kind);
    EXPECT_THROW(run_sampler(s.config, mixture_denoiser(other), x_T, noise), InputError) << kind;
  }
}

// A config with one `sampler:` key moved off the contract set-up's value.
SamplerConfig with_key_changed(SamplerConfig config, const std::string& key) {
  if (key == "eta") config.eta = 0.3;
  if (key == "s_churn") config.s_churn = 0.0;
  if (key == "s_tmin") config.s_tmin = 0.5;
  if (key == "s_tmax") config.s_tmax = 1.0;
  if (key == "s_noise") config.s_noise = 0.5;
  if (key == "rtol") config.rtol = 1e-7;
  if (key == "atol") config.atol = 1e-7;
  if (key == "max_nfe") config.max_nfe = 3;  // rk45 needs more: it must fail
  if (key == "lower_order_final") config.lower_order_final = !config.lower_order_final;
  if (key == "grid") config.grid = "uniform";
  return config;
}

TEST_P(SamplerContract, ReadsExactlyTheOptionsItDeclares) {
  // The row's function is called directly on one fixed grid, so a key can act only through the
  // sampler's typed options: a key the row does not declare leaves the output bit for bit; a
  // declared key changes it (or, for max_nfe, makes the run fail), except where the formula makes
  // it inert: a first-order UniPC has no higher order to lower, DPM-Solver-1 no inner times.
  const auto s = setup_for(row());
  const auto denoiser = mixture_denoiser(s.process);
  const auto times = sampler_grid(s.config, *s.process);
  NoiseSource x_noise(4, 0);
  const auto x_T = x_noise.next({6, 2}, torch::kFloat64) * s.process->prior_std();
  const auto run = [&](const SamplerConfig& config) {
    NoiseSource noise(9, 0);
    return row().sample(denoiser, x_T, times, noise, config);
  };
  const auto reference = run(s.config);
  // Listed here, not taken from sampler_specific_keys(), so a key dropped there is still tried.
  const std::vector<std::string> keys = {"eta",     "s_churn", "s_tmin",  "s_tmax",
                                         "s_noise", "rtol",    "atol",    "max_nfe",
                                         "lower_order_final",  "grid"};
  EXPECT_EQ(sampler_specific_keys(), std::vector<std::string>(keys.begin(), keys.end() - 1));
  const auto& declared = row().options();
  const bool inert_order = row().name == "unipc-bh1-1" || row().name == "unipc-bh2-1";
  for (const auto& key : keys) {
    const bool reads = std::find(declared.begin(), declared.end(), key) != declared.end();
    const auto changed = with_key_changed(s.config, key);
    if (!reads) {
      EXPECT_TRUE(torch::equal(run(changed), reference)) << "undeclared key " << key;
      continue;
    }
    if ((inert_order && key == "lower_order_final") ||
        (row().name == "dpm-solver-1" && key == "grid"))
      continue;
    bool differs = true;
    try {
      differs = !torch::equal(run(changed), reference);
    } catch (const RuntimeFailure&) {
      // max_nfe below what the run needs
    }
    EXPECT_TRUE(differs) << "declared key " << key << " has no effect";
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(SamplerRows, SamplerContract, ::testing::ValuesIn(sampler_names()),
                         test_name);

}  // namespace
}  // namespace diffuse
