// Pieces every sampler family shares, written once: the user-given time grid
// (`sampler.times` or `sampler.times_file`) and the x0 prediction transforms for image data
// (static clipping, and Imagen's dynamic thresholding, Saharia et al. 2022, sec. 2.3).
//
//   PredictionTransform transformed(denoiser, config);   // in run_sampler
//   x = row.sample(transformed.view(), x_T, times, noise, config);
//
// The transforms act inside a Denoiser view, so every sampler gets them without knowing:
// the view's x0 is the transformed prediction and its eps is recomputed from it, so that
// x = alpha x0 + sigma eps still holds. Classifier-free guidance belongs in the same place
// once conditional models exist (a view mixing the conditional and unconditional predictions).
#pragma once

#include "samplers/sampler.h"

#include <optional>
#include <string>
#include <vector>

namespace diffuse {

// The times of `sampler.times` or, when `sampler.times_file` is set, of that file: a 1-D .npy
// array, a YAML file with a `times:` list (diffuse schedule's grid file) or a text file of numbers
// separated by white space or commas. Empty when neither is set;
// InputError when both are, or for an unreadable file.
std::vector<double> given_times(const SamplerConfig& config);
// `option` names where the path came from in error messages.
std::vector<double> load_times_file(const std::string& path,
                                    const std::string& option = "sampler.times_file");
// The evaluation times (samplers/evaluation_times.h) of `sampler.eval_times` or, when
// `sampler.times_file` is a grid file of diffuse schedule with an `eval_times:` list, of that
// file. Empty when neither gives them; InputError when both do, or for an unreadable list.
std::vector<double> given_eval_times(const SamplerConfig& config);
// The `eval_times:` list of a grid file of diffuse schedule (.yaml); empty for other files and
// for a grid file without one.
std::vector<double> load_eval_times_file(const std::string& path,
                                         const std::string& option = "sampler.times_file");
// The sampler a grid file of diffuse schedule (.yaml) was fitted for; empty for other files,
// one without a `sampler:` key, or one that cannot be read (load_times_file reports that).
std::string grid_file_sampler(const std::string& path);

// The process kinds that are variance preserving (alpha^2 + sigma^2 = 1), in process_kinds()
// order: the `processes` of rows whose formulas hold only there (DDPM, DDIM).
const std::vector<std::string>& variance_preserving_kinds();

// True when the config asks for an x0 transform (clip_x0 or dynamic_threshold).
bool transforms_x0(const SamplerConfig& config);

// x0 -> clamp(x0, -c, c) with c = clip_x0. With dynamic_threshold p (Imagen): per sample,
// s = max(quantile_p(|x0|), c) with c = clip_x0 or 1, then x0 -> clamp(x0, -s, s) c / s, so the
// result lies in [-c, c] and samples with few saturated values are left unscaled.
torch::Tensor transform_x0(const torch::Tensor& x0, const SamplerConfig& config);

// The Denoiser a sampler should see: `denoiser` itself when no transform is configured, else a
// view whose predictions pass through transform_x0. Evaluations count on `denoiser` either way.
// The view refers to `denoiser`: use it only while `denoiser` lives.
class PredictionTransform {
 public:
  PredictionTransform(const Denoiser& denoiser, const SamplerConfig& config);
  const Denoiser& view() const { return view_ ? *view_ : denoiser_; }

 private:
  const Denoiser& denoiser_;
  std::optional<Denoiser> view_;
};

}  // namespace diffuse
