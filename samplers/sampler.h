// The sampler contract (docs/design.md "Interfaces"): a sampler is one free function of a Denoiser
// view, the initial noise x_T, a descending time grid (built once, outside it), a noise source
// and its own typed options (samplers/options.h), and returns x at the grid's last time. A
// registry table (samplers/registry.h) maps names to rows holding the function, its order,
// whether it is stochastic, its NFE for K steps, the processes and the options it reads.
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

#include "core/process/process.h"
#include "models/denoiser.h"
#include "samplers/noise.h"
#include "samplers/options.h"
#include "samplers/sampler_config.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace diffuse {

using TimeGrid = std::vector<double>;  // descending times, built once outside the sampler

// A registry row's sampler with its options bound: it reads its typed options (samplers/options.h)
// from the `sampler:` section and calls the sampler function, one of
//   x = sampler(denoiser, x, times, noise)             no options of its own
//   x = sampler(denoiser, x, times, noise, options)    typed options, read from the section
// or, for a row that fixes the options (ddim-song: the eta-family at eta = 0) or binds constants
// of a family (an order, a variant), a closure of the second form built by `of`.
class SampleFunction {
 public:
  using Plain = torch::Tensor (*)(const Denoiser&, torch::Tensor, const TimeGrid&, NoiseSource&);
  template <class Options>
  using Typed = torch::Tensor (*)(const Denoiser&, torch::Tensor, const TimeGrid&, NoiseSource&,
                                  const Options&);

  SampleFunction() = default;
  SampleFunction(Plain sampler);  // NOLINT(google-explicit-constructor): rows list functions
  template <class Options>
  SampleFunction(Typed<Options> sampler)  // NOLINT(google-explicit-constructor)
      : SampleFunction(of<Options>(sampler)) {}
  template <class Options>
  SampleFunction(Typed<Options> sampler, Options fixed)
      : keys_(), call_([sampler, fixed](const Denoiser& d, torch::Tensor x, const TimeGrid& t,
                                        NoiseSource& n, const SamplerConfig&) {
          return sampler(d, std::move(x), t, n, fixed);
        }) {}
  // sampler(denoiser, x, times, noise, const Options&) for any callable.
  template <class Options, class F>
  static SampleFunction of(F sampler) {
    SampleFunction f;
    f.keys_ = Options::keys();
    f.call_ = [sampler](const Denoiser& d, torch::Tensor x, const TimeGrid& t, NoiseSource& n,
                        const SamplerConfig& c) {
      return sampler(d, std::move(x), t, n, Options::from(c));
    };
    return f;
  }

  torch::Tensor operator()(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                           NoiseSource& noise, const SamplerConfig& config) const {
    return call_(denoiser, std::move(x), times, noise, config);
  }
  // The `sampler:` keys the bound sampler reads (its Options::keys()).
  const std::vector<std::string>& options() const { return keys_; }

 private:
  std::vector<std::string> keys_;
  std::function<torch::Tensor(const Denoiser&, torch::Tensor, const TimeGrid&, NoiseSource&,
                              const SamplerConfig&)>
      call_;
};

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
  SampleFunction sample;  // its options(): the `sampler:` keys the row reads
  // Adaptive rows (rk45) choose their steps at run time: nfe(K) returns -1 and the NFE a run
  // spent is what the Denoiser's evaluations() counted.
  bool adaptive = false;
  // Empty: a run's grid is the config's named grid with K = steps intervals. A row whose grid
  // differs builds it from that grid config (dpm-solver-fast: every time of its order mix).
  std::function<std::vector<double>(const ForwardProcess&, const TimeGridConfig&)> make_grid = {};

  const std::vector<std::string>& options() const { return sample.options(); }
  bool supports(const ForwardProcess& process) const;
  std::string supported_processes() const;  // "all" or a comma list
};

// NFE = per_step * K, for rows whose cost is the same every step.
std::function<std::int64_t(int steps)> evaluations_per_step(int per_step);

}  // namespace diffuse
