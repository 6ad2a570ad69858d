#include "samplers/evaluation_times.h"

#include "core/base/errors.h"

#include <algorithm>
#include <string>

namespace diffuse {

namespace {

// A model that predicts x0 at grid[i] as `inner` does at eval_times[i]; any other time passes
// through. The wrapped Denoiser counts the evaluations.
class ShiftedTimeX0Model final : public ScoreModel {
 public:
  ShiftedTimeX0Model(const Denoiser& inner, std::vector<double> grid,
                     std::vector<double> eval_times)
      : inner_(inner), grid_(std::move(grid)), eval_times_(std::move(eval_times)) {}

  Parameterization parameterization() const override { return Parameterization::x0; }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    const auto host = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    auto mapped = host.clone();
    const double* in = host.data_ptr<double>();
    double* out = mapped.data_ptr<double>();
    for (std::int64_t b = 0; b < host.numel(); ++b) out[b] = eval_time(in[b]);
    return inner_.predict(x, mapped.to(t.options())).x0;
  }
  torch::Tensor forward_at(const torch::Tensor& x, double t) override {
    return inner_.predict(x, eval_time(t)).x0;
  }

  std::string describe() const override {
    return inner_.model()->describe() + " (evaluated at shifted times)";
  }

 private:
  // Samplers pass their grid's own doubles, so a grid time matches exactly (per-sample times
  // match only when given in float64; the deterministic rows all query at one shared time).
  double eval_time(double t) const {
    const auto at = std::find(grid_.begin(), grid_.end(), t);
    return at == grid_.end() ? t : eval_times_[at - grid_.begin()];
  }

  const Denoiser& inner_;
  std::vector<double> grid_, eval_times_;
};

}  // namespace

EvaluationTimeView::EvaluationTimeView(const Denoiser& denoiser, const std::vector<double>& grid,
                                       const std::vector<double>& eval_times)
    : denoiser_(denoiser) {
  if (eval_times.empty()) return;
  require(eval_times.size() == grid.size(),
          "sampler.eval_times: expected one time per grid time (" +
              std::to_string(grid.size()) + "), got " + std::to_string(eval_times.size()));
  const auto& process = denoiser.process();
  for (std::size_t i = 0; i < eval_times.size(); ++i)
    require(eval_times[i] >= process.t_min() && eval_times[i] <= process.t_max(),
            "sampler.eval_times[" + std::to_string(i) + "] = " + std::to_string(eval_times[i]) +
                ": expected a time in [" + std::to_string(process.t_min()) + ", " +
                std::to_string(process.t_max()) + "] of process " + process.name());
  view_.emplace(std::make_shared<ShiftedTimeX0Model>(denoiser, grid, eval_times),
                denoiser.process_ptr());
}

std::vector<double> shifted_evaluation_times(const ForwardProcess& process,
                                             const std::vector<double>& times,
                                             const std::vector<double>& shift) {
  require(shift.size() <= times.size(), "shifted_evaluation_times: more shifts than times");
  std::vector<double> out;
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (i >= shift.size() || shift[i] == 0.0) {
      out.push_back(times[i]);
      continue;
    }
    const double s = process.t_of_lambda(process.lambda(times[i]) + shift[i]);
    out.push_back(std::clamp(s, process.t_min(), process.t_max()));
  }
  return out;
}

std::vector<double> evaluation_time_shifts(const ForwardProcess& process,
                                           const std::vector<double>& times,
                                           const std::vector<double>& eval_times) {
  require(eval_times.size() == times.size(), "evaluation_time_shifts: expected one evaluation "
                                             "time per grid time");
  std::vector<double> shift;
  for (std::size_t i = 0; i < times.size(); ++i)
    shift.push_back(eval_times[i] == times[i]
                        ? 0.0
                        : process.lambda(eval_times[i]) - process.lambda(times[i]));
  return shift;
}

}  // namespace diffuse
