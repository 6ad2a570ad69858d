// Fitting a sampler's time grid against a reference map (samplers/learned_grid.h).
//
// Why a derivative-free search: samplers compute their step coefficients on host doubles under
// InferenceMode, so there is no autograd path from the grid to the output, and multistep rows
// (DPM-Solver++(2M), UniPC) carry history across steps, which makes a per-interval dynamic
// programme over a candidate grid (Optimal Stepsize Distillation) inexact for them. The whole
// sampler run is the objective instead, as Align Your Steps (Sabour et al. 2024) treats the grid
// as K free parameters, but measured against the true map rather than a KL bound.
#include "samplers/learned_grid.h"

#include "core/base/errors.h"
#include "core/base/format.h"
#include "samplers/common.h"
#include "samplers/evaluation_times.h"
#include "samplers/registry.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

namespace diffuse {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

SamplerConfig with_steps(SamplerConfig config, int steps) {
  config.steps = steps;
  config.times.clear();
  config.times_file.clear();
  return config;
}

// Mean squared distance of one run of `times`; infinity for a grid the sampler refuses or a
// non-finite output (a very skewed grid can blow a high-order step up).
double grid_objective(SamplerConfig config, const std::vector<double>& times,
                      const std::vector<double>& eval_times, const Denoiser& denoiser,
                      const torch::Tensor& x_T, const torch::Tensor& reference) {
  config.times = times;
  config.eval_times = eval_times;
  config.times_file.clear();
  NoiseSource noise(0, 0);  // deterministic rows draw nothing
  torch::Tensor x;
  try {
    x = run_sampler(config, denoiser, x_T, noise);
  } catch (const InputError&) {
    return kInfinity;
  }
  const double mse = (x - reference).pow(2).reshape({x.size(0), -1}).sum(1).mean().item<double>();
  return std::isfinite(mse) ? mse : kInfinity;
}

// theta of a grid: log of its lambda increments (the inverse of grid_from_log_increments).
std::vector<double> log_increments(const ForwardProcess& process,
                                   const std::vector<double>& times) {
  std::vector<double> theta;
  for (std::size_t i = 1; i < times.size(); ++i)
    theta.push_back(std::log(std::max(process.lambda(times[i]) - process.lambda(times[i - 1]),
                                      1e-300)));
  return theta;
}

// Hooke-Jeeves (1961) pattern search, in place from theta (value: its objective): exploratory
// moves of +-h on each coordinate around a base, then a pattern move along the last improvement
// while it pays; h halves when no coordinate improves. Once h is below min_step it restarts at
// the initial step from the point reached (a shrunken step stalls in shallow local minima of this
// rugged objective) and stops when a whole restart gains under 0.1%, or when the budget ends.
void pattern_search(const std::function<double(const std::vector<double>&)>& objective,
                    const std::function<bool()>& budget_left, double initial_step,
                    double min_step, std::vector<double>& theta, double& value) {
  const auto explore = [&](std::vector<double> base, double& v, double h) {
    for (std::size_t i = 0; i < base.size() && budget_left(); ++i) {
      for (double sign : {1.0, -1.0}) {
        auto trial = base;
        trial[i] += sign * h;
        const double tv = objective(trial);
        if (tv < v) {
          v = tv;
          base = std::move(trial);
          break;
        }
        if (!budget_left()) break;
      }
    }
    return base;
  };
  double h = initial_step;
  double restart_value = value;
  while (budget_left()) {
    if (h < min_step) {
      if (!(value < (1.0 - 1e-3) * restart_value)) break;
      restart_value = value;
      h = initial_step;
    }
    double v = value;
    auto moved = explore(theta, v, h);
    if (!(v < value)) {
      h *= 0.5;
      continue;
    }
    while (budget_left()) {  // keep moving along the pattern while it pays
      std::vector<double> pattern(theta.size());
      for (std::size_t i = 0; i < theta.size(); ++i) pattern[i] = 2.0 * moved[i] - theta[i];
      theta = moved;
      value = v;
      double pv = objective(pattern);
      const auto explored = explore(pattern, pv, h);
      if (!(pv < value)) break;
      moved = explored;
      v = pv;
    }
    theta = moved;
    value = v;
  }
}

// theta + N(0, scale^2) per coordinate: Box-Muller on the engine's raw 64-bit output, so the
// draws are the same with every standard library (its distributions are not specified).
std::vector<double> perturbed(std::vector<double> theta, double scale, std::mt19937_64& engine) {
  const auto uniform = [&] { return (static_cast<double>(engine() >> 11) + 0.5) * 0x1.0p-53; };
  constexpr double kTwoPi = 6.283185307179586;
  for (double& v : theta)
    v += scale * std::sqrt(-2.0 * std::log(uniform())) * std::cos(kTwoPi * uniform());
  return theta;
}

}  // namespace

MapDistance map_distance(const torch::Tensor& x, const torch::Tensor& reference) {
  require(x.sizes() == reference.sizes(), "map_distance: the output and the reference differ "
                                          "in shape");
  const auto d = (x - reference).to(torch::kFloat64).reshape({x.size(0), -1}).norm(2, 1);
  MapDistance out;
  out.rms = d.pow(2).mean().sqrt().item<double>();
  out.median = d.quantile(0.5).item<double>();
  out.p99 = d.quantile(0.99).item<double>();
  return out;
}

int steps_for_nfe(const SamplerConfig& config, const ForwardProcess& process, int nfe) {
  const SamplerInfo& row = find_sampler(config.name);
  require(!row.stochastic, "sampler '" + row.name + "' is stochastic: a learned grid needs a "
                           "deterministic sampler (one whose output is a map of x_T), e.g. "
                           "ddim, dpm-solver++2m, unipc-bh2-3, dpm-solver-fast");
  require(!row.adaptive, "sampler '" + row.name + "' chooses its own steps (adaptive): expected "
                         "a fixed-grid deterministic sampler");
  require(row.supports(process), "sampler '" + row.name + "' does not support process " +
                                     process.name() + " (it supports " +
                                     row.supported_processes() + ")");
  std::int64_t minimum = -1;
  for (int k = std::max(nfe, 1); k >= 1; --k) {
    std::int64_t spent = -1;
    try {
      spent = sampler_nfe(with_steps(config, k), process);
    } catch (const InputError&) {
      continue;  // a K the row cannot take (e.g. an order mix too short)
    }
    minimum = spent;
    if (spent <= nfe) return k;
  }
  throw InputError("NFE " + std::to_string(nfe) + " is below the minimum of sampler '" +
                   row.name + "' (" +
                   (minimum > 0 ? std::to_string(minimum) + " evaluations for one step"
                                : std::string("no grid fits")) +
                   "); expected --nfe at least that");
}

torch::Tensor reference_map(const Denoiser& denoiser, const torch::Tensor& x_T, double t_start,
                            double t_end, double tol) {
  SamplerConfig config;
  config.name = "rk45";
  config.rtol = tol;
  config.atol = tol;
  config.times = {t_start, t_end};
  NoiseSource noise(0, 0);
  return run_sampler(config, denoiser, x_T, noise);
}

std::vector<double> grid_from_log_increments(const ForwardProcess& process, double t_start,
                                             double t_end, const std::vector<double>& theta) {
  const double lambda_0 = process.lambda(t_start), lambda_K = process.lambda(t_end);
  const double top = *std::max_element(theta.begin(), theta.end());
  double total = 0.0;
  for (double v : theta) total += std::exp(v - top);
  std::vector<double> times = {t_start};
  double sum = 0.0;
  for (std::size_t i = 0; i + 1 < theta.size(); ++i) {
    sum += std::exp(theta[i] - top) / total;
    times.push_back(process.t_of_lambda(lambda_0 + sum * (lambda_K - lambda_0)));
  }
  times.push_back(t_end);
  return times;
}

std::vector<double> resample_grid(const ForwardProcess& process, const std::vector<double>& times,
                                  double t_start, double t_end, int steps) {
  require(times.size() >= 2 && steps >= 1, "resample_grid: expected a grid of at least two "
                                           "times and at least one step");
  // A grid already at these ends and this step count is used as it is (no lambda round trip).
  if (times.size() == static_cast<std::size_t>(steps) + 1 && times.front() == t_start &&
      times.back() == t_end)
    return times;
  const double l0 = process.lambda(times.front()), range = process.lambda(times.back()) - l0;
  require(range > 0.0, "resample_grid: expected a grid descending in time");
  std::vector<double> fraction;
  for (double t : times) fraction.push_back((process.lambda(t) - l0) / range);
  const double lambda_0 = process.lambda(t_start), lambda_K = process.lambda(t_end);
  const double intervals = static_cast<double>(times.size() - 1);
  std::vector<double> out = {t_start};
  for (int j = 1; j < steps; ++j) {
    const double position = intervals * j / steps;
    const auto i = std::min(static_cast<std::size_t>(position), times.size() - 2);
    const double u = fraction[i] + (position - i) * (fraction[i + 1] - fraction[i]);
    out.push_back(process.t_of_lambda(lambda_0 + u * (lambda_K - lambda_0)));
  }
  out.push_back(t_end);
  return out;
}

int grid_fit_runs(const GridFitOptions& options) {
  const int starts = static_cast<int>(options.start_grids.size() + options.start_times.size());
  return std::max(options.max_evaluations, starts) + std::max(options.shift_evaluations, 0);
}

GridFit fit_time_grid(SamplerConfig config, const Denoiser& denoiser, const torch::Tensor& x_T,
                      const torch::Tensor& reference, const GridFitOptions& options) {
  const ForwardProcess& process = denoiser.process();
  require(!find_sampler(config.name).stochastic,
          "fit_time_grid: sampler '" + config.name + "' is stochastic");
  require(!options.start_grids.empty() || !options.start_times.empty(),
          "fit_time_grid: no start grid");
  config.times.clear();
  config.eval_times.clear();
  config.times_file.clear();
  GridFit fit;
  double best = kInfinity;
  const int total_runs = grid_fit_runs(options);
  auto evaluate = [&](const std::vector<double>& times, const std::vector<double>& eval_times) {
    const double value = grid_objective(config, times, eval_times, denoiser, x_T, reference);
    ++fit.evaluations;
    best = std::min(best, value);
    if (options.on_evaluation)
      options.on_evaluation(fit.evaluations, total_runs, std::sqrt(best));
    return value;
  };

  // Start: the best of the hand-made grids (sampler_grid, so rows with their own grid rule keep
  // it) and the given ones. A given grid at this fit's steps brings its evaluation times as
  // lambda shifts, which the grid search then holds (docs/learned_grids.md: a resumed fit
  // alternates, the grid under the shifts found, then the shifts on the grid found).
  const auto shifted = [&](const std::vector<double>& times, const std::vector<double>& shift) {
    return shift.empty() ? std::vector<double>{}
                         : shifted_evaluation_times(process, times, shift);
  };
  double start_value = kInfinity;
  std::vector<double> held_shift;
  auto consider = [&](const std::string& name, const std::vector<double>& times,
                      const std::vector<double>& shift) {
    const double value = evaluate(times, shifted(times, shift));
    if (value < start_value || fit.start_times.empty()) {
      start_value = value;
      fit.start_grid = name;
      fit.start_times = times;
      held_shift = shift;
    }
    return value;
  };
  const auto ends = sampler_grid(config, process);
  for (const auto& kind : options.start_grids) {
    SamplerConfig hand = config;
    hand.grid = kind;
    fit.hand_rms.emplace_back(kind, std::sqrt(consider(kind, sampler_grid(hand, process), {})));
  }
  for (std::size_t i = 0; i < options.start_times.size(); ++i) {
    const auto& given = options.start_times[i];
    const auto times = resample_grid(process, given, ends.front(), ends.back(), config.steps);
    std::vector<double> shift;  // one per grid time but the last, which keeps its own
    if (i < options.start_eval_times.size() && !options.start_eval_times[i].empty() &&
        times == given) {
      shift = evaluation_time_shifts(process, given, options.start_eval_times[i]);
      shift.pop_back();
    }
    consider("given " + std::to_string(given.size() - 1) + "-step grid", times, shift);
  }
  require(std::isfinite(start_value), "fit_time_grid: sampler '" + config.name +
                                          "' gives a non-finite output on every start grid");
  fit.start_rms = std::sqrt(start_value);
  const double t_start = fit.start_times.front(), t_end = fit.start_times.back();
  auto at = [&](const std::vector<double>& th) {
    const auto times = grid_from_log_increments(process, t_start, t_end, th);
    return evaluate(times, shifted(times, held_shift));
  };

  const auto budget_left = [&] { return fit.evaluations < options.max_evaluations; };
  const auto search = [&](std::vector<double>& theta, double& value) {
    pattern_search(at, budget_left, options.initial_step, options.min_step, theta, value);
  };
  std::vector<double> best_theta = log_increments(process, fit.start_times);
  double best_value = start_value;
  search(best_theta, best_value);
  // Restarts from the best point with its steps perturbed (GridFitOptions::restarts).
  std::mt19937_64 engine(options.seed);
  for (int r = 0; r < options.restarts && budget_left(); ++r) {
    auto theta = perturbed(best_theta, options.restart_scale, engine);
    double value = at(theta);
    search(theta, value);
    if (value < best_value) {
      best_value = value;
      best_theta = std::move(theta);
    }
  }
  fit.times = best_value < start_value
                  ? grid_from_log_increments(process, t_start, t_end, best_theta)
                  : fit.start_times;
  fit.eval_times = shifted(fit.times, held_shift);
  fit.rms = fit.times_rms = std::sqrt(std::min(best_value, start_value));
  if (options.shift_evaluations <= 0) return fit;

  // The evaluation times on the fitted grid: one lambda shift per grid time but the last, which
  // keeps its own (the multistep rows never query it), searched from the held shifts or from 0.
  const int shift_budget_end = fit.evaluations + options.shift_evaluations;
  const auto shift_budget_left = [&] { return fit.evaluations < shift_budget_end; };
  std::vector<double> shift = held_shift;
  shift.resize(fit.times.size() - 1, 0.0);
  double shift_value = fit.rms * fit.rms;
  pattern_search(
      [&](const std::vector<double>& d) { return evaluate(fit.times, shifted(fit.times, d)); },
      shift_budget_left, options.shift_initial_step, options.shift_min_step, shift, shift_value);
  if (shift_value < fit.rms * fit.rms) {
    fit.eval_times = shifted(fit.times, shift);
    fit.rms = std::sqrt(shift_value);
  }
  return fit;
}

}  // namespace diffuse
