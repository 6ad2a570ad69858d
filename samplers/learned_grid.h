// Learned time grids: the K + 1 times of a deterministic sampler fitted so that its output from
// a batch of noise x_T lands as close as possible to a reference map of the same x_T (the exact
// probability-flow map for the analytic mixture score, a high-accuracy run of the same model for
// a trained network). The sampler is a black box (run_sampler), so every deterministic registry
// row is fitted the same way, multistep history included. docs/learned_grids.md has the method.
//
//   const auto ref = reference_map(denoiser, x_T, t_start, t_end, 1e-8);
//   GridFit fit = fit_time_grid(config, denoiser, x_T, ref, options);   // config: sampler, NFE
//   config.times = fit.times;                                          // use it
#pragma once

#include "models/denoiser.h"
#include "samplers/sampler.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace diffuse {

// Distances |x_i - ref_i| over a batch (per sample over all its elements).
struct MapDistance {
  double rms = 0.0;
  double median = 0.0;
  double p99 = 0.0;
};
MapDistance map_distance(const torch::Tensor& x, const torch::Tensor& reference);

// The grid intervals K of the sampler in `config` at an NFE budget: the largest K whose run
// spends at most `nfe` evaluations (sampler_nfe). InputError for a stochastic or adaptive row,
// or when one step already costs more than `nfe` (naming the sampler's minimum).
int steps_for_nfe(const SamplerConfig& config, const ForwardProcess& process, int nfe);

// The reference map of x_T from t_start to t_end: the adaptive rk45 sampler at rtol = atol = tol
// on the same denoiser (exact ODE map when the denoiser is the analytic score).
torch::Tensor reference_map(const Denoiser& denoiser, const torch::Tensor& x_T, double t_start,
                            double t_end, double tol);

struct GridFitOptions {
  // Hand-made grids to start from (time_grid_kinds() names): the best on the fit batch wins.
  std::vector<std::string> start_grids = {"uniform", "logsnr", "quadratic", "karras"};
  // Further starts given as time grids of any length (e.g. a grid fitted at a neighbouring NFE),
  // moved to this fit's steps and ends by resample_grid.
  std::vector<std::vector<double>> start_times = {};
  // The evaluation times of start_times[i] (as long as it, or empty). When start_times[i] has
  // this fit's steps and ends, it starts with them (as lambda shifts), the grid search holds
  // those shifts while it moves the times, and the evaluation-time search continues from them
  // instead of from 0: a resumed fit alternates between the two searches.
  std::vector<std::vector<double>> start_eval_times = {};
  // After the first search converges, this many more start from the best grid so far with its
  // log-increments perturbed by N(0, restart_scale^2) noise drawn from `seed`: the objective is
  // rugged (a few draws that end at another mixture component than the reference), and a local
  // search stops in the first basin it finds.
  int restarts = 0;
  double restart_scale = 0.5;
  std::uint64_t seed = 0;
  int max_evaluations = 800;   // sampler runs the search may spend (the start grids included)
  double initial_step = 0.5;   // pattern-search step on the log-increments of lambda
  double min_step = 2e-3;      // stop once the step has shrunk below this
  // Decoupled evaluation times (samplers/evaluation_times.h): after the grid, this many more
  // sampler runs fit the time at which the denoiser is queried at each grid time but the last,
  // as a shift of its lambda searched the same way from 0 (0: the grid's own times), or from
  // the shifts held from the start grid (start_eval_times).
  int shift_evaluations = 0;
  double shift_initial_step = 0.02;  // on the lambda shifts; they matter at the 1e-3 scale
  double shift_min_step = 2.5e-4;
  // Called after each sampler run: (runs so far, max_evaluations + shift_evaluations, best RMS
  // so far).
  std::function<void(int, int, double)> on_evaluation = {};
};

struct GridFit {
  std::vector<double> times;  // the fitted descending grid, K + 1 times, ends kept
  // The denoiser's times (shift_evaluations, or shifts held from the start grid), else empty.
  std::vector<double> eval_times;
  // On the fit batch, before the evaluation-time search (shifts held): where that search starts.
  double times_rms = 0.0;
  std::string start_grid;     // the grid the search started from (a kind, or "given N")
  std::vector<double> start_times;
  double start_rms = 0.0;     // on the fit batch
  double rms = 0.0;           // on the fit batch
  int evaluations = 0;           // sampler runs, the evaluation-time search's included
  std::vector<std::pair<std::string, double>> hand_rms;  // each start grid's fit-batch RMS
};

// The most sampler runs fit_time_grid spends: every start grid once, the search up to
// max_evaluations in all, then shift_evaluations (a continued evaluation-time search included).
int grid_fit_runs(const GridFitOptions& options);

// Fits config's sampler grid (config.steps intervals; config.times and times_file ignored) on
// the batch x_T against `reference` (reference_map of the same x_T). The interior times are
// parametrised by their logSNR lambda: increments d_i = (lambda_K - lambda_0) softmax(theta)_i,
// monotone by construction; a Hooke-Jeeves pattern search with halving steps minimises the mean
// squared distance; with options.shift_evaluations the evaluation times follow on the fitted
// grid. Deterministic: the same inputs give the same grid.
GridFit fit_time_grid(SamplerConfig config, const Denoiser& denoiser, const torch::Tensor& x_T,
                      const torch::Tensor& reference, const GridFitOptions& options = {});

// `times` (any number of intervals, descending) moved to `steps` intervals between t_start and
// t_end, keeping each time's fraction of the lambda range (linear interpolation in it).
std::vector<double> resample_grid(const ForwardProcess& process, const std::vector<double>& times,
                                  double t_start, double t_end, int steps);

// The grid of theta (the parametrisation above) between t_start and t_end; exposed for tests.
std::vector<double> grid_from_log_increments(const ForwardProcess& process, double t_start,
                                             double t_end, const std::vector<double>& theta);

}  // namespace diffuse
