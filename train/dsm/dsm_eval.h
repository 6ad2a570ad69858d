// The evaluation piece of training, and `diffuse eval --model`: the DSM loss of a model on fixed
// draws (x0, t, eps), next to the loss of the analytic oracle on the same draws when the data is
// a Gaussian mixture. The oracle's score is the exact minimiser of the DSM objective, so its loss
// is the floor a network can reach; model - oracle estimates the score error
// E lambda(t) ||s_theta - grad log p_t||^2 (up to the loss's weighting).
//
//   auto draws = fixed_draws(*process, x0, times, generator);
//   DsmComparison c = compare_losses(model, oracle.get(), loss, draws);
#pragma once

#include "models/score_model.h"
#include "train/dsm/dsm_loss.h"
#include "train/dsm/time_sampler.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace diffuse {

// Draws for every row of x0 [n, D], in chunks of `chunk` rows (t and eps from `generator`).
std::vector<DsmDraw> fixed_draws(const ForwardProcess& process, const torch::Tensor& x0,
                                 const TimeSampler& times, at::Generator generator,
                                 std::int64_t chunk = 4096);

// Per-sample losses [n] of a model on the draws (no gradients).
torch::Tensor per_sample_losses(ScoreModel& model, const DsmLoss& loss,
                                const std::vector<DsmDraw>& draws);

struct DsmComparison {
  std::int64_t samples = 0;
  double model_loss = 0.0, model_stderr = 0.0;
  std::optional<double> oracle_loss, gap, gap_stderr;  // gap = model - oracle, paired
  // The theory's score estimation error E_t E ||s_theta(x_t, t) - grad log p_t(x_t)||^2 / D
  // (t from the loss's time sampler), and the same weighted by sigma_t^2 (the error in eps
  // units, which stays finite as t -> 0); both against the oracle's exact score.
  std::optional<double> score_error, score_error_stderr;
  std::optional<double> score_error_sigma2, score_error_sigma2_stderr;

  nlohmann::json to_json() const;
};

// oracle may be null (data without an exact score).
DsmComparison compare_losses(ScoreModel& model, ScoreModel* oracle, const DsmLoss& loss,
                             const std::vector<DsmDraw>& draws);

// Per-sample ||eps_model - eps_oracle||^2 / D at the draws' (x_t, t) [n]; divided by sigma_t^2
// it is the squared score error (s = -eps / sigma).
torch::Tensor eps_differences(ScoreModel& model, ScoreModel& oracle, const ForwardProcess& process,
                              const std::vector<DsmDraw>& draws);

}  // namespace diffuse
