// diffuse schedule's work, without argv: fit a deterministic sampler's time grid on one batch of
// noise against the reference map of the same noise, then measure the fitted and the hand-made
// grids on a second, held-out batch (samplers/learned_grid.h has the fit itself).
#pragma once

#include "samplers/learned_grid.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace diffuse {

struct ScheduleRequest {
  int nfe = 10;
  std::uint64_t seed = 0;               // the fit and held-out noise derive from it
  std::int64_t fit_samples = 1024;
  std::int64_t heldout_samples = 4096;
  double reference_tol = 1e-6;          // rk45 rtol = atol of the reference map
  GridFitOptions fit;
};

struct ScheduleResult {
  std::vector<double> times;       // the learned grid
  std::vector<double> eval_times;  // its evaluation times (empty unless they were fitted)
  nlohmann::json record;      // what was fitted and measured (fit and held-out, every grid)
};

// `sampler.steps` is set from the NFE here (steps_for_nfe); shows progress on stderr.
ScheduleResult fit_schedule(SamplerConfig sampler, const Denoiser& denoiser,
                            const std::vector<std::int64_t>& sample_shape,
                            const torch::TensorOptions& options, const ScheduleRequest& request);

// The grid file: a YAML map with `times:` and, when fitted, `eval_times:` (what `diffuse sample
// --times` and sampler.times_file read), the sampler and NFE it was fitted for, and the record
// as one JSON line.
std::string grid_file_text(const ScheduleResult& result);

}  // namespace diffuse
