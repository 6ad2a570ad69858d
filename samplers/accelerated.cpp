#include "samplers/accelerated.h"

#include "core/base/errors.h"
#include "samplers/common.h"
#include "samplers/ddpm.h"
#include "samplers/families.h"

#include <cmath>

namespace diffuse {

namespace {

constexpr int kMaxAnchors = 4;

// int_0^{upper} L_m(u) du for the Lagrange basis L_m on the nodes u_j = j / (K - 1).
double basis_integral(int m, int anchors, double upper) {
  std::vector<double> poly = {1.0};  // coefficients in u, lowest first
  const double u_m = static_cast<double>(m) / (anchors - 1);
  for (int j = 0; j < anchors; ++j) {
    if (j == m) continue;
    const double u_j = static_cast<double>(j) / (anchors - 1), scale = 1.0 / (u_m - u_j);
    std::vector<double> next(poly.size() + 1, 0.0);
    for (std::size_t k = 0; k < poly.size(); ++k) {
      next[k + 1] += poly[k] * scale;  // u * poly
      next[k] -= poly[k] * u_j * scale;
    }
    poly = next;
  }
  double sum = 0.0;
  for (std::size_t k = 0; k < poly.size(); ++k)
    sum += poly[k] * std::pow(upper, static_cast<double>(k + 1)) / (k + 1);
  return sum;
}

}  // namespace

// Li, Huang, Efimov, Wei, Chi, Chen 2024 (ICML), the accelerated deterministic sampler:
// sqrt(a_t) Y_{t-1} = Y_t + (1-a_t)/2 s_t + (1-a_t)^2/(4(1-a_{t+1})) (s_t - sqrt(a_{t+1}) s_{t+1}).
torch::Tensor sample_li_accelerated(const Denoiser& denoiser, torch::Tensor x,
                                    const TimeGrid& times, NoiseSource&) {
  struct Step {
    double gain;     // 1 / sqrt(alpha_t)
    double current;  // multiplies s_t(Y_t)
    double previous; // multiplies s_{t+1}(Y_{t+1}); 0 on the first step
  };
  const auto& process = denoiser.process();
  std::vector<Step> steps;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const auto a = step_alpha(process, times[i], times[i + 1]);
    const double gain = 1.0 / std::sqrt(a.alpha);
    double c = 0.0, previous = 0.0;
    if (i > 0) {
      const auto a_prev = step_alpha(process, times[i - 1], times[i]);  // alpha_{t+1}
      c = a.one_minus_alpha * a.one_minus_alpha / (4.0 * a_prev.one_minus_alpha);
      previous = -c * std::sqrt(a_prev.alpha) * gain;
    }
    // Steps with history: (1 - alpha_t)/2 as in the paper. The first step integrates the ODE
    // with the score frozen at s_t: 1 - sqrt(alpha_t) = (1 - alpha_t)/2 + O((1 - alpha_t)^2),
    // which keeps the order and halves the first step's error when 1 - alpha_t is not small.
    const double first = i == 0 ? -std::expm1(0.5 * std::log(a.alpha)) : 0.5 * a.one_minus_alpha;
    steps.push_back({gain, (first + c) * gain, previous});
  }
  torch::Tensor score_prev;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& c = steps[i];
    auto score = denoiser.score(x, times[i]);
    x = c.gain * x + c.current * score;
    if (i > 0) x = x + c.previous * score_prev;  // the second-order correction
    score_prev = score;
  }
  return x;
}

// Li, Zhou, Wei, Chen 2025: y_s = y_t + int gamma^{-3/2} s / 2 dgamma with the integrand
// interpolated through K anchors in gamma, anchor states and scores refined alternately.
torch::Tensor sample_kth_order(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               int anchors, int rounds) {
  require(anchors >= 2 && anchors <= kMaxAnchors, "kth-order sampler: K must be 2, 3 or 4");
  require(rounds >= 1, "kth-order sampler: rounds must be at least 1");
  const auto& process = denoiser.process();
  // x_j = gain_j x_t + sum_m weight_jm s_m at anchor j; host coefficients for every step.
  struct Step {
    double time[kMaxAnchors];
    double gain[kMaxAnchors];
    double weight[kMaxAnchors][kMaxAnchors];
  };
  std::vector<Step> plan;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double gamma_t = std::exp(2.0 * process.log_alpha(times[i]));
    const double gamma_s = std::exp(2.0 * process.log_alpha(times[i + 1]));
    Step c{};
    for (int j = 0; j < anchors; ++j) {
      const double u_j = static_cast<double>(j) / (anchors - 1);
      const double gamma_j = gamma_t + u_j * (gamma_s - gamma_t);
      c.time[j] = j == 0 ? times[i] : j == anchors - 1 ? times[i + 1]
                  : process.t_of_lambda(0.5 * std::log(gamma_j / (1.0 - gamma_j)));
      c.gain[j] = std::sqrt(gamma_j / gamma_t);
      for (int m = 0; m < anchors; ++m) {
        const double u_m = static_cast<double>(m) / (anchors - 1);
        const double gamma_m = gamma_t + u_m * (gamma_s - gamma_t);
        c.weight[j][m] = std::sqrt(gamma_j) * (gamma_s - gamma_t) *
                         basis_integral(m, anchors, u_j) * 0.5 / std::pow(gamma_m, 1.5);
      }
    }
    plan.push_back(c);
  }
  std::vector<torch::Tensor> state(anchors), score(anchors);
  for (const auto& c : plan) {
    score[0] = denoiser.score(x, c.time[0]);
    for (int j = 1; j < anchors; ++j) {  // start: the score frozen at s_t
      double frozen = 0.0;
      for (int m = 0; m < anchors; ++m) frozen += c.weight[j][m];
      state[j] = c.gain[j] * x + frozen * score[0];
    }
    for (int r = 0; r < rounds; ++r) {
      for (int m = 1; m < anchors; ++m) score[m] = denoiser.score(state[m], c.time[m]);
      for (int j = 1; j < anchors; ++j) {  // refine the anchor states from the new scores
        auto next = c.gain[j] * x;
        for (int m = 0; m < anchors; ++m) next = next + c.weight[j][m] * score[m];
        state[j] = next;
      }
    }
    x = state[anchors - 1];
  }
  return x;
}

std::vector<SamplerInfo> accelerated_samplers() {
  std::vector<SamplerInfo> rows = {
      {"li-accelerated-2",
       "accelerated 2nd-order theory sampler, one score per step (Li, Huang et al. ICML 2024)", 2,
       false, evaluations_per_step(1), variance_preserving_kinds(), sample_li_accelerated},
  };
  for (int k = 2; k <= kMaxAnchors; ++k) {
    const int rounds = k - 1;
    SamplerInfo row;
    row.name = "li-kth-" + std::to_string(k);
    row.description = "K-th order sampler, K = " + std::to_string(k) + ", " +
                      std::to_string(rounds) + " rounds (Li, Zhou, Wei, Chen 2025)";
    row.order = k;
    row.stochastic = false;
    row.nfe = evaluations_per_step(1 + (k - 1) * rounds);
    row.processes = variance_preserving_kinds();
    row.sample = SampleFunction::of<NoOptions>(
        [k, rounds](const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times, NoiseSource&,
                    const NoOptions&) {
          return sample_kth_order(denoiser, std::move(x), times, k, rounds);
        });
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace diffuse
