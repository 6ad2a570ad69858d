#include "models/analytic.h"

#include "core/base/errors.h"

#include <set>
#include <sstream>

namespace diffuse {

AnalyticMixtureScore::AnalyticMixtureScore(GaussianMixture mixture, ProcessPtr process)
    : mixture_(std::move(mixture)), process_(std::move(process)) {
  require(process_ != nullptr, "AnalyticMixtureScore: no forward process given");
}

MixtureEvaluation AnalyticMixtureScore::evaluate(const torch::Tensor& x, const torch::Tensor& t,
                                                 bool with_score) {
  require(
      x.defined() && x.dim() >= 2 && x.numel() / std::max<int64_t>(x.size(0), 1) == mixture_.dim(),
      "AnalyticMixtureScore: expected x of shape [B, " + std::to_string(mixture_.dim()) +
          "] (or [B, dims...] with that many values per sample)");
  require(x.is_floating_point(), "AnalyticMixtureScore: x must be float32 or float64");
  require(t.defined() && (t.numel() == 1 || t.numel() == x.size(0)),
          "AnalyticMixtureScore: t must hold one time or one per sample (" +
              std::to_string(x.size(0)) + ")");
  const auto options = x.options();
  if (!cached_ || cached_->options().dtype() != options.dtype() ||
      cached_->options().device() != options.device()) {
    cached_ = mixture_.to(options);
  }
  // Coefficients in float64 (as the Denoiser does), cast once to x's dtype and device.
  const auto t64 = t.detach().reshape({-1}).to(x.device(), torch::kFloat64);
  const auto alpha = process_->alpha(t64).to(options);
  const auto sigma = process_->sigma(t64).to(options);
  return cached_->evaluate(x.reshape({x.size(0), mixture_.dim()}), alpha, sigma, with_score);
}

torch::Tensor AnalyticMixtureScore::forward(const torch::Tensor& x, const torch::Tensor& t) {
  return evaluate(x, t, /*with_score=*/true).score.reshape(x.sizes());
}

torch::Tensor AnalyticMixtureScore::log_prob_t(const torch::Tensor& x, const torch::Tensor& t) {
  return evaluate(x, t, /*with_score=*/false).log_prob;
}

std::string AnalyticMixtureScore::describe() const {
  std::set<std::string> kinds;
  for (const auto& c : mixture_.components()) kinds.insert(to_string(c.kind));
  std::ostringstream out;
  out << "analytic Gaussian-mixture score: " << mixture_.num_components() << " components (";
  bool first = true;
  for (const auto& k : kinds) {
    out << (first ? "" : ", ") << k;
    first = false;
  }
  out << ") in " << mixture_.dim() << " dimensions, process " << process_->name();
  return out.str();
}

}  // namespace diffuse
