// The sampler contract (DESIGN.md "Interfaces", STYLE lessons 1, 4-6): a sampler is one free
// function that sees a Denoiser view, the initial noise x_T, a descending time grid and a noise
// source, and returns x at the grid's last time. A registry table (samplers/registry.h) maps names
// to rows holding the function, its order, whether it is stochastic, its NFE for K steps and the
// processes it supports.
//
//   const SamplerInfo& info = find_sampler("heun");
//   auto times = sampler_grid(info, config, process);
//   NoiseSource noise(seed, first_index);
//   torch::Tensor x0 = info.sample(denoiser, x_T, times, noise, config);
//
// Rules for a sampler function: step coefficients in double on the host; no .item(), printing or
// other host synchronisation inside the step loop; history in locals (reentrant); randomness only
// from the NoiseSource.
#pragma once

#include "core/config.h"
#include "core/process.h"
#include "core/time_grid.h"
#include "models/denoiser.h"
#include "samplers/noise.h"

#include <cstdint>
#include <functional>
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
  }
};

using SampleFunction =
    std::function<torch::Tensor(const Denoiser& denoiser, torch::Tensor x,
                                const std::vector<double>& times, NoiseSource& noise,
                                const SamplerConfig& config)>;

// One row of the registry.
struct SamplerInfo {
  std::string name;
  std::string description;  // one line: the method and its source
  int order = 1;            // global order of accuracy of the ODE/SDE discretisation
  bool stochastic = false;
  // Model evaluations for a grid of K steps (without final_denoise).
  std::function<std::int64_t(int steps)> nfe;
  // Empty: every process. Otherwise the process names it supports.
  std::vector<std::string> processes;
  SampleFunction sample;

  bool supports(const ForwardProcess& process) const;
  std::string supported_processes() const;  // "all" or a comma list
};

}  // namespace diffuse
