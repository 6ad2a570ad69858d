// Decoupled evaluation times: a sampler steps on its grid t_0 > ... > t_K, but the denoiser it
// queries at grid time t_i answers as the model does at another time s_i. The solver's step
// coefficients still use t_i; only the prediction comes from s_i. Li, Qu, Yao, Sun and Moens
// (ICLR 2024, "Alleviating exposure bias in diffusion models through sampling with shifted time
// steps") query the network at a shifted time to offset the drift of x_t from the training
// marginals; `diffuse schedule --shift-runs` fits one s_i per grid time against the reference map
// instead (docs/learned_grids.md), which lets a low-NFE grid absorb part of its truncation error.
//
//   sampler.times      = [t_0, ..., t_K]
//   sampler.eval_times = [s_0, ..., s_K]   // same length; s_i = t_i leaves step i as it was
//
// Only queries at exactly a grid time move; a single-step solver's intermediate times and an
// adaptive solver's own times are left as they are.
#pragma once

#include "models/denoiser.h"

#include <optional>
#include <vector>

namespace diffuse {

// The Denoiser a sampler should see on `grid`: `denoiser` itself when eval_times is empty, else
// a view that answers a query at grid[i] with the x0 prediction of `denoiser` at eval_times[i]
// (its eps then follows from x = alpha x0 + sigma eps at grid[i]). InputError when eval_times
// is neither empty nor as long as the grid, or holds a time outside the process's range.
// Evaluations count on `denoiser`; the view refers to it, so use it only while it lives.
class EvaluationTimeView {
 public:
  EvaluationTimeView(const Denoiser& denoiser, const std::vector<double>& grid,
                     const std::vector<double>& eval_times);
  const Denoiser& view() const { return view_ ? *view_ : denoiser_; }

 private:
  const Denoiser& denoiser_;
  std::optional<Denoiser> view_;
};

// s_i = t(lambda(t_i) + shift_i): evaluation times as shifts of the half log-SNR of each grid
// time (shift.size() <= times.size(); missing trailing shifts are 0), clamped to the process's
// time range.
std::vector<double> shifted_evaluation_times(const ForwardProcess& process,
                                             const std::vector<double>& times,
                                             const std::vector<double>& shift);

// The inverse: shift_i = lambda(s_i) - lambda(t_i), 0 where s_i == t_i (so the round trip keeps
// those times exact). InputError unless eval_times is as long as times.
std::vector<double> evaluation_time_shifts(const ForwardProcess& process,
                                           const std::vector<double>& times,
                                           const std::vector<double>& eval_times);

}  // namespace diffuse
