// The `sampler:` section of a run config: which sampler, on which time grid, with which options.
// Each sampler reads only its own typed view of it (samplers/options.h).
#pragma once

#include "core/base/config.h"
#include "core/process/time_grid.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace diffuse {

const std::vector<std::string>& sampler_names();  // from the registry, for config checks

// The `sampler:` section of a run config.
struct SamplerConfig {
  std::string name = "heun";
  int steps = 20;               // K: grid intervals (see each row's nfe for the evaluations)
  std::string grid = "logsnr";  // a time_grid_kinds() name; ignored when `times` is given
  double rho = 7.0;             // karras grids
  std::string spacing = "even";  // ddpm grids
  std::optional<double> t_end;   // default: the process's t_min
  std::vector<double> times;     // a user-given grid of descending times (overrides grid/steps)
  double eta = 1.0;              // stochasticity of DDIM-type and ancestral samplers
  bool final_denoise = false;    // end with x0 = D(x, t_end) (one more evaluation)
  std::string times_file;        // .npy or text file of descending times (instead of `times`)
  // The denoiser's time at each grid time, as long as the grid (samplers/evaluation_times.h);
  // empty: each grid time's own. A grid file of diffuse schedule may carry them too.
  std::vector<double> eval_times;
  // Prediction transforms for image data (samplers/common.h), applied to every x0 prediction.
  std::optional<double> clip_x0;            // clamp x0 to [-c, c]
  std::optional<double> dynamic_threshold;  // Imagen's percentile p of |x0| per sample
  // EDM's churn (Karras et al. 2022, Algorithm 2) in units of sigma / alpha = exp(-lambda).
  double s_churn = 0.0;
  double s_tmin = 0.0;
  std::optional<double> s_tmax;  // unset: no upper bound
  double s_noise = 1.0;
  // Adaptive RK45: local error tolerances in x and the evaluation budget of one run.
  double rtol = 1e-5;
  double atol = 1e-5;
  std::int64_t max_nfe = 100000;
  // Multistep solvers (DPM-Solver++): lower orders in the last steps when K < 10 (as the
  // DPM-Solver reference does; it stabilises very few steps).
  bool lower_order_final = true;
  // On a CUDA device, capture the step loop once per batch shape and replay it as a CUDA graph
  // where the sampler allows (samplers/cuda_graph.h); eager otherwise.
  bool cuda_graph = true;

  template <class V>
  void visit(V& v) {
    v("name", name, config::one_of(sampler_names()));
    v("steps", steps, config::at_least(1));
    v("grid", grid, config::one_of(time_grid_kinds()));
    v("rho", rho, config::greater_than(0.0));
    v("spacing", spacing, config::one_of(ddpm_spacings()));
    v("t_end", t_end, config::greater_than(0.0));
    v("times", times);
    v("eta", eta, config::at_least(0.0));
    v("final_denoise", final_denoise);
    v("times_file", times_file);
    v("eval_times", eval_times);
    v("clip_x0", clip_x0, config::greater_than(0.0));
    v("dynamic_threshold", dynamic_threshold, config::in_range(0.0, 1.0));
    v("s_churn", s_churn, config::at_least(0.0));
    v("s_tmin", s_tmin, config::at_least(0.0));
    v("s_tmax", s_tmax, config::at_least(0.0));
    v("s_noise", s_noise, config::at_least(0.0));
    v("rtol", rtol, config::greater_than(0.0));
    v("atol", atol, config::greater_than(0.0));
    v("max_nfe", max_nfe, config::at_least<std::int64_t>(1));
    v("lower_order_final", lower_order_final);
    v("cuda_graph", cuda_graph);
  }
};

}  // namespace diffuse
