#include "samplers/ddpm.h"

#include "core/base/errors.h"
#include "core/base/format.h"
#include "samplers/common.h"
#include "samplers/families.h"

#include <cmath>
#include <functional>

namespace diffuse {

namespace {

// The VP quantities of one step t -> s, from log alpha so that 1 - alpha_t keeps its digits
// when the step is short (expm1 instead of 1 - exp).
struct VpStep {
  double alpha_step;            // alpha_t = abar_t / abar_s
  double one_minus_alpha_step;  // 1 - alpha_t
  double one_minus_abar_t;      // 1 - abar_t = sigma(t)^2
  double q2;  // (alpha_t - abar_t) / (1 - abar_t) = alpha_t (1 - abar_s) / (1 - abar_t)
};

VpStep vp_step(const ForwardProcess& process, double t, double s) {
  const auto a = step_alpha(process, t, s);
  VpStep v;
  v.alpha_step = a.alpha;
  v.one_minus_alpha_step = a.one_minus_alpha;
  v.one_minus_abar_t = -std::expm1(2.0 * process.log_alpha(t));
  v.q2 = v.alpha_step * -std::expm1(2.0 * process.log_alpha(s)) / v.one_minus_abar_t;
  return v;
}

using StepRule = std::function<TheoryStepCoefficients(double t, double s)>;

// Y_s = (Y_t + eta_t s_t(Y_t) + sigma_t z) / sqrt(alpha_t) along the grid; coefficients first,
// so a bad eta fails before any evaluation and the loop only does tensor work.
torch::Tensor theory_form(const Denoiser& denoiser, torch::Tensor x,
                          const std::vector<double>& times, NoiseSource& noise,
                          const StepRule& rule) {
  std::vector<TheoryStepCoefficients> steps;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) steps.push_back(rule(times[i], times[i + 1]));
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& c = steps[i];
    auto y = x + c.eta * denoiser.score(x, times[i]);  // deterministic part
    if (c.sigma > 0.0) y = y + c.sigma * noise.like(x);  // stochastic part
    x = c.inv_sqrt_alpha * y;
  }
  return x;
}

// Song et al. eq. 16: c = eta (sigma_s / sigma_t) sqrt(1 - abar_t / abar_s).
double song_noise(const ForwardProcess& process, double t, double s, double eta) {
  const double la_t = process.log_alpha(t), la_s = process.log_alpha(s);
  return eta * process.sigma(s) / process.sigma(t) * std::sqrt(-std::expm1(2.0 * (la_t - la_s)));
}

}  // namespace

StepAlpha step_alpha(const ForwardProcess& process, double t, double s) {
  const double d = 2.0 * (process.log_alpha(t) - process.log_alpha(s));
  return {std::exp(d), -std::expm1(d)};
}

TheoryStepCoefficients ddpm_step_coefficients(const ForwardProcess& process, double t, double s) {
  const auto v = vp_step(process, t, s);
  TheoryStepCoefficients c;
  c.inv_sqrt_alpha = 1.0 / std::sqrt(v.alpha_step);
  c.eta = v.one_minus_alpha_step;                      // eta_t = 1 - alpha_t
  c.sigma = std::sqrt(v.one_minus_alpha_step * v.q2);  // (1-alpha_t)(alpha_t-abar_t)/(1-abar_t)
  return c;
}

TheoryStepCoefficients ddim_step_coefficients(const ForwardProcess& process, double t, double s,
                                              double eta) {
  const auto v = vp_step(process, t, s);
  const double s2 = eta * eta * v.one_minus_alpha_step * v.q2;  // eta^2 times DDPM's sigma_t^2
  const double root2 = v.q2 - s2 / v.one_minus_abar_t;
  require(root2 >= 0.0, "sampler.eta = " + format_number(eta) + " is too large for the DDIM step " +
                            format_number(t) + " -> " + format_number(s) + "; use eta <= 1");
  TheoryStepCoefficients c;
  c.inv_sqrt_alpha = 1.0 / std::sqrt(v.alpha_step);
  c.eta = (v.one_minus_alpha_step + s2) / (1.0 + std::sqrt(root2));
  c.sigma = std::sqrt(s2);
  return c;
}

// Li et al.'s DDPM: Y_{t-1} = (Y_t + (1 - alpha_t) s_t(Y_t) + sigma_t z) / sqrt(alpha_t).
torch::Tensor sample_ddpm(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                          NoiseSource& noise) {
  const auto& process = denoiser.process();
  return theory_form(denoiser, std::move(x), times, noise, [&](double t, double s) {
    return ddpm_step_coefficients(process, t, s);
  });
}

// Li et al.'s DDIM, the probability-flow step in theory form (ddpm.h):
//   Y_s = (Y_t + eta_t s_t(Y_t)) / sqrt(alpha_t),  eta_t = (1 - alpha_t) / (1 + q_t),
//   alpha_t = abar_t / abar_s,  q_t^2 = (alpha_t - abar_t) / (1 - abar_t).
torch::Tensor sample_ddim(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                          NoiseSource&) {
  const auto& p = denoiser.process();
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i], s = times[i + 1];
    const auto [alpha, one_minus_alpha] = step_alpha(p, t, s);
    // alpha_t - abar_t = alpha_t (1 - abar_s); 1 - abar by expm1, so short steps keep their digits
    const double q2 = alpha * -std::expm1(2.0 * p.log_alpha(s)) / -std::expm1(2.0 * p.log_alpha(t));
    const double eta = one_minus_alpha / (1.0 + std::sqrt(q2));
    x = (1.0 / std::sqrt(alpha)) * (x + eta * denoiser.score(x, t));
  }
  return x;
}

// Ho et al.'s other variance, sigma_Ho^2 = beta_t = 1 - alpha_t: theory-form sigma_t^2 =
// alpha_t (1 - alpha_t). Outside the adaptive family (see ddpm.h).
torch::Tensor sample_ddpm_beta(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               NoiseSource& noise) {
  const auto& process = denoiser.process();
  return theory_form(denoiser, std::move(x), times, noise, [&](double t, double s) {
    auto c = ddpm_step_coefficients(process, t, s);
    const double alpha = 1.0 / (c.inv_sqrt_alpha * c.inv_sqrt_alpha);
    c.sigma = std::sqrt(alpha * c.eta);  // c.eta = 1 - alpha_t
    return c;
  });
}

// The probability-flow ODE dY/du = Y + s (u = log alpha) solved over the step with the score held
// at s_t: Y_s = (Y_t + (1 - sqrt(alpha_t)) s_t) / sqrt(alpha_t). Outside the adaptive family.
torch::Tensor sample_ddim_frozen_score(const Denoiser& denoiser, torch::Tensor x,
                                       const TimeGrid& times, NoiseSource& noise) {
  const auto& process = denoiser.process();
  return theory_form(denoiser, std::move(x), times, noise, [&](double t, double s) {
    auto c = ddim_step_coefficients(process, t, s, 0.0);
    c.eta = 1.0 - 1.0 / c.inv_sqrt_alpha;
    return c;
  });
}

// The theory form of Song et al.'s eta-family (see ddpm.h): eta 0 is DDIM, eta 1 is DDPM.
torch::Tensor sample_ddim_eta(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                              NoiseSource& noise, const EtaOptions& options) {
  const auto& process = denoiser.process();
  return theory_form(denoiser, std::move(x), times, noise, [&](double t, double s) {
    return ddim_step_coefficients(process, t, s, options.eta);
  });
}

// Song, Meng, Ermon 2021, eq. 12 with eq. 16's noise c(eta):
//   x_s = alpha_s x0_hat + sqrt(sigma_s^2 - c^2) eps_hat + c z.
torch::Tensor sample_ddim_song(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                               NoiseSource& noise, const EtaOptions& options) {
  const double eta = options.eta;
  struct Step {
    double alpha_s, eps_coefficient, c;
  };
  const auto& process = denoiser.process();
  std::vector<Step> steps;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double s = times[i + 1], sigma_s = process.sigma(s);
    const double c = song_noise(process, times[i], s, eta);
    require(c <= sigma_s, "sampler.eta = " + format_number(eta) + " is too large for the DDIM step " +
                              format_number(times[i]) + " -> " + format_number(s) +
                              " (its noise would exceed sigma_s); use eta <= 1");
    steps.push_back({process.alpha(s), std::sqrt(sigma_s * sigma_s - c * c), c});
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& c = steps[i];
    const auto [x0, eps] = denoiser.predict(x, times[i]);
    x = c.alpha_s * x0 + c.eps_coefficient * eps;
    if (c.c > 0.0) x = x + c.c * noise.like(x);
  }
  return x;
}


std::vector<SamplerInfo> ddpm_samplers() {
  const auto& vp = variance_preserving_kinds();
  const auto once = evaluations_per_step(1);
  return {
      {"ddpm", "DDPM ancestral step, convergence-theory form (Ho et al. 2020; Li et al. 2024)",
       1, true, once, vp, sample_ddpm},
      {"ddim", "DDIM eta = 0, convergence-theory form Y_s = (Y_t + eta_t s_t) / sqrt(alpha_t)", 1,
       false, once, vp, sample_ddim},
      {"ddpm-beta", "DDPM with Ho et al.'s variance beta_t (not low-dimension adaptive)", 1, true,
       once, vp, sample_ddpm_beta},
      {"ddim-frozen-score",
       "probability-flow ODE, exponential step with the score held (not low-dimension adaptive)",
       1, false, once, vp, sample_ddim_frozen_score},
      {"ddim-eta", "DDIM with sampler.eta, theory form (eta 0: ddim, 1: ddpm; default 1)", 1, true,
       once, vp, sample_ddim_eta},
      {"ddim-song", "DDIM eta = 0, Song et al. 2021 eq. 12 in x0/eps form", 1, false, once, vp,
       {sample_ddim_song, EtaOptions{0.0}}},
      {"ddim-song-eta", "DDIM with sampler.eta, Song et al. 2021 eqs. 12, 16 (default 1)", 1, true,
       once, vp, sample_ddim_song},
  };
}

}  // namespace diffuse
