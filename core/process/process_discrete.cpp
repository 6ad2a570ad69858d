// Discrete-time VP schedules given by alpha-bar at N knots t_i = i/N (i = 1..N). Between knots,
// log alpha is interpolated linearly in t and extrapolated linearly outside, the convention of
// DPM-Solver's discrete NoiseScheduleVP, so both agree on every t.
#include "core/base/errors.h"
#include "core/process/process_kinds.h"
#include "core/process/process_vp.h"

#include <cmath>

namespace diffuse {

namespace {

class DiscreteVp final : public VpProcess {
 public:
  DiscreteVp(std::string name, const std::vector<double>& alpha_bar, double t_min, double t_max)
      : VpProcess(t_min, t_max),
        name_(std::move(name)),
        n_(static_cast<int64_t>(alpha_bar.size())) {
    log_alpha_knots_ = torch::tensor(alpha_bar, torch::kFloat64).log() * 0.5;
  }
  std::string name() const override { return name_; }
  std::optional<int> num_discrete_steps() const override { return static_cast<int>(n_); }
  // The host doubles go through the tensor forms (VpProcess's defaults).
  using VpProcess::f;
  using VpProcess::log_alpha;
  using VpProcess::t_of_log_alpha;

  torch::Tensor log_alpha(const torch::Tensor& t) const override {
    const auto [k, frac] = segment(t);
    const auto knots = log_alpha_knots_.to(t.device());
    const auto left = knots.index({k}), right = knots.index({k + 1});
    return (left + frac * (right - left)).to(t.scalar_type());
  }

  torch::Tensor f(const torch::Tensor& t) const override {
    const auto k = segment(t).first;
    const auto knots = log_alpha_knots_.to(t.device());
    return ((knots.index({k + 1}) - knots.index({k})) * double(n_)).to(t.scalar_type());
  }

  torch::Tensor t_of_log_alpha(const torch::Tensor& la) const override {
    // log alpha decreases along the knots; search the increasing -log alpha.
    const auto knots = log_alpha_knots_.to(la.device());
    const auto target = la.to(torch::kFloat64);
    auto k = torch::searchsorted(-knots, -target.contiguous()) - 1;
    k = k.clamp(0, n_ - 2);
    const auto left = knots.index({k}), right = knots.index({k + 1});
    const auto t = (k.to(torch::kFloat64) + 1.0 + (target - left) / (right - left)) / double(n_);
    return t.to(la.scalar_type());
  }

 private:
  // Index k (0-based: knot k sits at t = (k+1)/N) of the segment holding t, and t's position
  // in it (outside [0, 1] when extrapolating beyond the first or last knot).
  std::pair<torch::Tensor, torch::Tensor> segment(const torch::Tensor& t) const {
    const auto pos = t.to(torch::kFloat64) * double(n_) - 1.0;
    const auto k = pos.floor().clamp(0, double(n_ - 2)).to(torch::kLong);
    return {k, pos - k.to(torch::kFloat64)};
  }

  std::string name_;
  int64_t n_;
  torch::Tensor log_alpha_knots_;  // 0.5 log abar_i, float64, on the host
};

}  // namespace

ProcessPtr make_ddpm(double beta_1, double beta_n, int n, double t_min, double t_max) {
  check_time_range("ddpm", t_min, t_max, 0.0, 1.0);
  // Ho et al.'s linear betas: beta_i = beta_1 + (i-1)/(N-1) (beta_N - beta_1).
  std::vector<double> alpha_bar(n);
  double product = 1.0;
  for (int i = 0; i < n; ++i) {
    product *= 1.0 - (beta_1 + (beta_n - beta_1) * i / (n - 1));
    alpha_bar[i] = product;
  }
  return std::make_shared<DiscreteVp>("ddpm", alpha_bar, t_min, t_max);
}

std::vector<double> ddpm_theory_alpha_bar(int n, double c0, double c1) {
  const double rate = c1 * std::log(double(n)) / n;
  const double one_minus_alpha_1 = std::pow(double(n), -c0);
  std::vector<double> alpha_bar(n);
  double product = 1.0 - one_minus_alpha_1;
  alpha_bar[0] = product;
  for (int t = 2; t <= n; ++t) {
    const double beta = rate * std::min(one_minus_alpha_1 * std::pow(1.0 + rate, t), 1.0);
    product *= 1.0 - beta;
    alpha_bar[t - 1] = product;
  }
  return alpha_bar;
}

ProcessPtr make_ddpm_theory(int n, double c0, double c1, double t_min, double t_max) {
  check_time_range("ddpm-theory", t_min, t_max, 0.0, 1.0);
  if (c1 * std::log(double(n)) / n >= 1.0)
    throw InputError("config: process 'ddpm-theory' needs c1 log(N) / N < 1 (a step's 1 - alpha_t "
                     "must stay below 1); lower c1 or raise num_steps");
  return std::make_shared<DiscreteVp>("ddpm-theory", ddpm_theory_alpha_bar(n, c0, c1), t_min,
                                      t_max);
}

}  // namespace diffuse
