#include "train/dsm/dsm_eval.h"

#include "core/base/errors.h"
#include "core/process/parameterization.h"
#include "models/denoiser.h"

#include <cmath>

namespace diffuse {

namespace {

// Mean and standard error of a sample [n], as doubles.
std::pair<double, double> mean_and_stderr(const torch::Tensor& values) {
  const auto v = values.to(torch::kFloat64);
  const double n = static_cast<double>(v.numel());
  const double mean = v.mean().item<double>();
  const double spread = n > 1 ? v.std().item<double>() / std::sqrt(n) : 0.0;
  return {mean, spread};
}

}  // namespace

std::vector<DsmDraw> fixed_draws(const ForwardProcess& process, const torch::Tensor& x0,
                                 const TimeSampler& times, at::Generator generator,
                                 std::int64_t chunk) {
  require(chunk >= 1, "fixed_draws: chunk must be >= 1");
  std::vector<DsmDraw> draws;
  for (std::int64_t start = 0; start < x0.size(0); start += chunk) {
    const auto rows = x0.narrow(0, start, std::min(chunk, x0.size(0) - start));
    const auto t = times.sample(rows.size(0), generator).to(rows.device());
    draws.push_back(make_draw(process, rows, t, generator));
  }
  return draws;
}

torch::Tensor per_sample_losses(ScoreModel& model, const DsmLoss& loss,
                                const std::vector<DsmDraw>& draws) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& draw : draws) parts.push_back(loss(model, draw));
  return torch::cat(parts);
}

DsmComparison compare_losses(ScoreModel& model, ScoreModel* oracle, const DsmLoss& loss,
                             const std::vector<DsmDraw>& draws) {
  DsmComparison c;
  const auto model_losses = per_sample_losses(model, loss, draws);
  c.samples = model_losses.numel();
  std::tie(c.model_loss, c.model_stderr) = mean_and_stderr(model_losses);
  if (oracle) {
    const auto oracle_losses = per_sample_losses(*oracle, loss, draws);
    c.oracle_loss = mean_and_stderr(oracle_losses).first;
    const auto [gap, gap_stderr] = mean_and_stderr(model_losses - oracle_losses);
    c.gap = gap;
    c.gap_stderr = gap_stderr;
    const auto weighted = eps_differences(model, *oracle, loss.process(), draws);
    std::vector<torch::Tensor> sigmas;
    for (const auto& d : draws)
      sigmas.push_back(coefficients_at(loss.process(), d.t, d.x_t.reshape({d.t.size(0), -1}))
                           .sigma.reshape({-1}));
    const auto sigma = torch::cat(sigmas).to(weighted.dtype());
    std::tie(c.score_error_sigma2, c.score_error_sigma2_stderr) = mean_and_stderr(weighted);
    std::tie(c.score_error, c.score_error_stderr) = mean_and_stderr(weighted / sigma.square());
  }
  return c;
}

torch::Tensor eps_differences(ScoreModel& model, ScoreModel& oracle, const ForwardProcess& process,
                              const std::vector<DsmDraw>& draws) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& d : draws) {
    const std::int64_t b = d.t.size(0);
    const auto x_t = d.x_t.reshape({b, -1});
    const auto c = coefficients_at(process, d.t, x_t);
    const auto eps_of = [&](ScoreModel& m) {
      return split(m.parameterization(), m.forward(d.x_t, d.t).reshape({b, -1}), x_t, c).eps;
    };
    parts.push_back((eps_of(model) - eps_of(oracle)).square().mean(1));
  }
  return torch::cat(parts);
}

nlohmann::json DsmComparison::to_json() const {
  nlohmann::json j = {{"samples", samples},
                      {"dsm_loss", model_loss},
                      {"dsm_loss_stderr", model_stderr}};
  if (oracle_loss) {
    j["oracle_dsm_loss"] = *oracle_loss;
    j["gap"] = *gap;
    j["gap_stderr"] = *gap_stderr;
    j["score_error"] = *score_error;
    j["score_error_stderr"] = *score_error_stderr;
    j["score_error_sigma2"] = *score_error_sigma2;
    j["score_error_sigma2_stderr"] = *score_error_sigma2_stderr;
  }
  return j;
}

}  // namespace diffuse
