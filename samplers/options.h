// A sampler's own options: small typed views of the `sampler:` section (SamplerConfig). A sampler
// function takes the one it needs as its last argument and sees nothing else of the config; each
// view names the keys it reads (`diffuse sample --list-samplers` shows them) and is built from
// the section by `from`, once per run.
#pragma once

#include "samplers/sampler_config.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace diffuse {

// Samplers whose formulas have no free parameter.
struct NoOptions {
  static std::vector<std::string> keys() { return {}; }
  static NoOptions from(const SamplerConfig&) { return {}; }
};

// The eta-family of DDIM (Song et al. 2021, eq. 16): 0 is deterministic DDIM, 1 is DDPM.
struct EtaOptions {
  double eta = 1.0;
  static std::vector<std::string> keys() { return {"eta"}; }
  static EtaOptions from(const SamplerConfig& c) { return {c.eta}; }
};

// EDM's churn (Karras et al. 2022, Algorithm 2), in units of s = sigma / alpha = exp(-lambda).
struct ChurnOptions {
  double s_churn = 0.0;
  double s_tmin = 0.0;
  double s_tmax = std::numeric_limits<double>::infinity();
  double s_noise = 1.0;
  static std::vector<std::string> keys() { return {"s_churn", "s_tmin", "s_tmax", "s_noise"}; }
  static ChurnOptions from(const SamplerConfig& c) {
    return {c.s_churn, c.s_tmin, c.s_tmax.value_or(std::numeric_limits<double>::infinity()),
            c.s_noise};
  }
};

// An adaptive solver's local error tolerances and its evaluation budget for one run.
struct ToleranceOptions {
  double rtol = 1e-5;
  double atol = 1e-5;
  std::int64_t max_nfe = 100000;
  static std::vector<std::string> keys() { return {"rtol", "atol", "max_nfe"}; }
  static ToleranceOptions from(const SamplerConfig& c) { return {c.rtol, c.atol, c.max_nfe}; }
};

// Multistep solvers: lower orders in the last steps of runs shorter than 10 steps (as the
// DPM-Solver reference does; it steadies very few steps).
struct MultistepOptions {
  bool lower_order_final = true;
  static std::vector<std::string> keys() { return {"lower_order_final"}; }
  static MultistepOptions from(const SamplerConfig& c) { return {c.lower_order_final}; }
};

// Singlestep DPM-Solver: its inner times are spaced like the named grid kind (uniform in t,
// in sqrt(t) for quadratic, in lambda otherwise), in lambda on a user-given grid.
struct SpacingOptions {
  std::string spacing = "logsnr";
  static std::vector<std::string> keys() { return {"grid"}; }
  static SpacingOptions from(const SamplerConfig& c) {
    const bool named_grid = c.times.empty() && c.times_file.empty();
    return {named_grid ? c.grid : "logsnr"};
  }
};

// The keys above that belong to some samplers and not others (`grid` shapes every run):
// a run that sets one its sampler ignores gets a warning (ignored_sampler_options).
const std::vector<std::string>& sampler_specific_keys();

}  // namespace diffuse
