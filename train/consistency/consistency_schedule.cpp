#include "train/consistency/consistency_schedule.h"

#include "core/base/errors.h"

#include <algorithm>
#include <cmath>

namespace diffuse {

namespace {

// s = sigma / alpha at each time: the noise level the iCT formulas are written in.
std::vector<double> noise_levels(const ForwardProcess& process, const std::vector<double>& t) {
  std::vector<double> s(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) s[i] = process.sigma(t[i]) / process.alpha(t[i]);
  return s;
}

}  // namespace

int discretisation_size(const DistillConfig& c, std::int64_t step, std::int64_t total_steps) {
  if (c.n_schedule == "fixed") return c.n;
  require(c.n_max >= c.n_min, "distill.n_max = " + std::to_string(c.n_max) +
                                  ": expected >= distill.n_min = " + std::to_string(c.n_min));
  const auto doublings =
      static_cast<std::int64_t>(std::floor(std::log2(static_cast<double>(c.n_max) / c.n_min))) + 1;
  const std::int64_t stage_length = std::max<std::int64_t>(total_steps / doublings, 1);
  const std::int64_t stage = std::min<std::int64_t>(step / stage_length, 62);
  const double n =
      std::min(static_cast<double>(c.n_min) * std::pow(2.0, stage), static_cast<double>(c.n_max));
  return static_cast<int>(n) + 1;
}

std::vector<double> discretisation(const ForwardProcess& process, const DistillConfig& c, int n) {
  require(n >= 2, "distill.n = " + std::to_string(n) + ": expected at least 2 times");
  TimeGridConfig grid;
  grid.kind = c.grid;
  grid.steps = n - 1;
  grid.rho = c.rho;
  auto times = make_time_grid(process, grid);
  std::reverse(times.begin(), times.end());
  return times;
}

std::vector<double> consistency_sampling_times(const ForwardProcess& process,
                                               const DistillConfig& config,
                                               std::int64_t total_steps, int steps) {
  const int n = discretisation_size(config, std::max<std::int64_t>(total_steps - 1, 0),
                                    total_steps);
  require(steps >= 1 && steps <= n - 1,
          "sampler.steps = " + std::to_string(steps) + ": a consistency model distilled on N = " +
              std::to_string(n) + " times takes 1 to " + std::to_string(n - 1) +
              " steps on its grid (or give sampler.times)");
  const auto grid = discretisation(process, config, n);
  std::vector<double> times;
  for (int k = 0; k <= steps; ++k) {
    const auto index = static_cast<std::size_t>(
        std::lround(static_cast<double>(n - 1) * (steps - k) / steps));
    times.push_back(grid[index]);
  }
  return times;
}

torch::Tensor sample_pairs(const ForwardProcess& process, const DistillConfig& c,
                           const std::vector<double>& times, std::int64_t batch,
                           at::Generator generator) {
  const auto pairs = static_cast<std::int64_t>(times.size()) - 1;
  const auto options = torch::TensorOptions(torch::kInt64).device(generator.device());
  if (c.index_sampling == "uniform") return torch::randint(pairs, {batch}, generator, options);
  const auto s = noise_levels(process, times);
  std::vector<double> p(pairs);
  double total = 0.0;
  const auto cdf = [&](double level) {
    return std::erf((std::log(level) - c.p_mean) / (std::sqrt(2.0) * c.p_std));
  };
  for (std::int64_t i = 0; i < pairs; ++i) total += p[i] = cdf(s[i + 1]) - cdf(s[i]);
  // Far in a tail every pair's mass rounds to 0: fall back to uniform rather than divide by 0.
  if (!(total > 0.0)) return torch::randint(pairs, {batch}, generator, options);
  const auto probs = torch::tensor(p, torch::kFloat64).to(generator.device());
  return torch::multinomial(probs, batch, /*replacement=*/true, generator);
}

torch::Tensor pair_weights(const ForwardProcess& process, const DistillConfig& c,
                           const std::vector<double>& times, const torch::Tensor& pairs) {
  if (c.weighting == "uniform")
    return torch::ones({pairs.size(0)}, pairs.options().dtype(torch::kFloat64));
  const auto s = noise_levels(process, times);
  std::vector<double> w(s.size() - 1);
  for (std::size_t i = 0; i + 1 < s.size(); ++i) w[i] = 1.0 / (s[i + 1] - s[i]);
  return torch::tensor(w, torch::kFloat64).to(pairs.device()).index_select(0, pairs);
}

}  // namespace diffuse
