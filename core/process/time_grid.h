// Time grids for samplers: separate functions of a forward process. Each
// returns K + 1 strictly decreasing times t_0 = t_start > t_1 > ... > t_K = t_end for K steps,
// both endpoints included exactly (no trailing 0: a sampler ends at t_end, usually t_min).
//
//   auto process = diffuse::make_process({});  // vp-linear
//   diffuse::TimeGridConfig config;
//   config.kind = "karras";
//   config.steps = 18;
//   std::vector<double> grid = diffuse::make_time_grid(*process, config);
//   // grid.front() == process->t_max(), grid.back() == process->t_min(), grid.size() == 19
//
// Kinds (time_grid_kinds()):
//   uniform    uniform in t
//   logsnr     uniform in lambda = log(alpha / sigma) (DPM-Solver's "logSNR" steps)
//   quadratic  uniform in sqrt(t), then squared (DDIM's "quad" skip type)
//   karras     EDM eq. 5: uniform in s^(1/rho) with s = sigma / alpha = exp(-lambda); for edm
//              (alpha = 1, sigma = t) exactly Karras et al.'s sigma_i, for other processes their
//              rule applied to the noise-to-signal ratio
//   ddpm       the knots t = i/N of a discrete process (ddpm, ddpm-theory); `spacing` picks which
//              K + 1 of them (K = N - 1 takes every knot N, N-1, ..., 1)
#pragma once

#include "core/base/config.h"
#include "core/process/process.h"

#include <optional>
#include <string>
#include <vector>

namespace diffuse {

// The names make_time_grid accepts, and the knot spacings of the ddpm grid.
const std::vector<std::string>& time_grid_kinds();
const std::vector<std::string>& ddpm_spacings();

// What a run's `grid:` section says. Unset t_start / t_end take the process's t_max / t_min.
struct TimeGridConfig {
  std::string kind = "logsnr";
  int steps = 20;                 // K: the grid has K + 1 points
  double rho = 7.0;               // karras: EDM's rho
  std::string spacing = "even";   // ddpm: even | leading | trailing (see ddpm_grid)
  std::optional<double> t_start;  // default: process t_max
  std::optional<double> t_end;    // default: process t_min

  template <class V>
  void visit(V& v) {
    v("kind", kind, config::one_of(time_grid_kinds()));
    v("steps", steps, config::at_least(1));
    v("rho", rho, config::greater_than(0.0));
    v("spacing", spacing, config::one_of(ddpm_spacings()));
    v("t_start", t_start, config::at_least(0.0));
    v("t_end", t_end, config::at_least(0.0));
  }
};

// Builds the grid the config names; InputError for an unknown kind or spacing, steps < 1,
// rho <= 0, t_end >= t_start, endpoints outside [t_min, t_max], a ddpm grid on a continuous
// process, more ddpm steps than knots, or an endpoint where lambda is infinite (logsnr, karras).
std::vector<double> make_time_grid(const ForwardProcess& process, const TimeGridConfig& config);

// The grids one by one (the arguments as in TimeGridConfig, endpoints already resolved).
std::vector<double> uniform_grid(double t_start, double t_end, int steps);
std::vector<double> quadratic_grid(double t_start, double t_end, int steps);
std::vector<double> logsnr_grid(const ForwardProcess& process, double t_start, double t_end,
                                int steps);
std::vector<double> karras_grid(const ForwardProcess& process, double t_start, double t_end,
                                int steps, double rho = 7.0);
// Knot indices i_start = t_start N down to i_end = t_end N (both must be knots), D = i_start -
// i_end, K <= D steps. even: i_end + round((K - k) D / K). With the integer stride c = floor(D / K)
// of DDIM: trailing: i_start - k c for k < K, then i_end (the last step takes the remainder);
// leading: i_end + (K - k) c for k > 0, after i_start (the first step takes the remainder).
std::vector<double> ddpm_grid(const ForwardProcess& process, double t_start, double t_end,
                              int steps, const std::string& spacing = "even");

}  // namespace diffuse
