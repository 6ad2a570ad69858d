// Singlestep DPM-Solver (noise prediction) and DPM-Solver++(2S) (data prediction). Each step is
// planned on the host first: the model is evaluated at s = u_0, u_1, ..., and every stage output
// is a linear combination cx x + sum_j c_j model_j whose coefficients are doubles, so the step
// loop only combines tensors and calls the model.
#include "samplers/dpm_solver.h"

#include "core/base/errors.h"
#include "core/math/numerics.h"

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

namespace diffuse {

namespace {

// A plan's numbers: doubles for a grid the batch shares (the samplers, planned on the host before
// the loop), or [B] float64 tensors for one time per example (distillation's teacher step).
// `unused` marks a weight the step does not have.
double unused(double) { return 0.0; }
torch::Tensor unused(const torch::Tensor&) { return {}; }
bool has_weight(double c) { return c != 0.0; }
bool has_weight(const torch::Tensor& c) { return c.defined(); }
torch::Tensor scale(const torch::Tensor& v, double c) { return v * c; }
torch::Tensor scale(const torch::Tensor& v, const torch::Tensor& c) { return v * per_sample(c, v); }
void add_scaled(torch::Tensor& out, const torch::Tensor& v, double c) { out.add_(v, c); }
void add_scaled(torch::Tensor& out, const torch::Tensor& v, const torch::Tensor& c) {
  out.add_(scale(v, c));
}

// out = cx x + sum_{j < stage index + 1} c[j] model_j.
template <class T>
struct Stage {
  T cx{};
  std::array<T, 3> c{};
};

// Model evaluations at times[0] = s, times[1] = s1, times[2] = s2 (the first `order`);
// stages[k - 1] gives the input of evaluation k, stages[order - 1] gives x_t.
template <class T>
struct StepPlan {
  int order = 1;
  std::array<T, 3> times{};
  std::array<Stage<T>, 3> stages{};
};

// DPM-Solver-1/2/3 (Lu et al. 2022: DPM-Solver-1 and Algorithms 1 and 2, in the reference's
// 'dpmsolver' forms): exp(h) - 1 = h phi_1(h), exp(h) - 1 - h = h^2 phi_2(h).
// points = {s, s1, s2, t} (the first order + 1 used).
template <class T>
StepPlan<T> noise_step(const ForwardProcess& p, int order, const std::array<T, 4>& points) {
  using std::exp;  // at::exp for tensors, by argument-dependent lookup
  StepPlan<T> plan;
  plan.order = order;
  const T& s = points[0];
  const T& t = points[order];
  const T lambda_s = p.lambda(s), h = p.lambda(t) - lambda_s;
  const T log_alpha_s = p.log_alpha(s);
  const auto decay = [&](const T& u) { return exp(p.log_alpha(u) - log_alpha_s); };
  // sigma_u (e^{r h} - 1) for u at lambda_s + r h: the first-order noise weight.
  const auto first = [&](const T& u, const auto& r) {
    return p.sigma(u) * r * h * exp_phi(1, r * h);
  };
  for (int k = 0; k < order; ++k) plan.times[k] = points[k];

  Stage<T>& last = plan.stages[order - 1];
  last.cx = decay(t);
  const T b = first(t, 1.0);
  if (order == 1) {
    last.c = {-b, unused(b), unused(b)};  // x_t = (alpha_t / alpha_s) x - sigma_t (e^h - 1) eps_s
    return plan;
  }
  const T r1 = (p.lambda(points[1]) - lambda_s) / h;
  plan.stages[0].cx = decay(points[1]);  // u1: DPM-Solver-1 from s to s1
  plan.stages[0].c = {-first(points[1], r1), unused(b), unused(b)};
  if (order == 2) {
    // x_t = DPM-Solver-1 - sigma_t (e^h - 1) / (2 r1) (eps_1 - eps_s)
    const T d = 0.5 / r1 * b;
    last.c = {-b + d, -d, unused(b)};
    return plan;
  }
  const T r2 = (p.lambda(points[2]) - lambda_s) / h;
  // u2 = DPM-Solver-1 to s2 - sigma_s2 (r2 / r1) (e^{r2 h} - 1 - r2 h) / (r2 h) (eps_1 - eps_s)
  const T d2 = r2 / r1 * p.sigma(points[2]) * r2 * h * exp_phi(2, r2 * h);
  plan.stages[1].cx = decay(points[2]);
  plan.stages[1].c = {-first(points[2], r2) + d2, -d2, unused(b)};
  // x_t = DPM-Solver-1 - sigma_t / r2 ((e^h - 1) / h - 1) (eps_2 - eps_s)
  const T d = p.sigma(t) / r2 * h * exp_phi(2, h);
  last.c = {-b + d, unused(b), -d};
  return plan;
}

// DPM-Solver++ (Lu et al. 2022b: the first-order step and Algorithm 1, 2S, in the reference's
// 'dpmsolver' form): 1 - e^{-h} = h phi_1(-h). Orders 1 and 2.
StepPlan<double> data_step(const ForwardProcess& p, int order,
                           const std::array<double, 4>& points) {
  StepPlan<double> plan;
  plan.order = order;
  const double s = points[0], t = points[order];
  const double lambda_s = p.lambda(s), h = p.lambda(t) - lambda_s, sigma_s = p.sigma(s);
  for (int k = 0; k < order; ++k) plan.times[k] = points[k];
  Stage<double>& last = plan.stages[order - 1];
  last.cx = p.sigma(t) / sigma_s;
  const double b = p.alpha(t) * h * exp_phi(1, -h);
  if (order == 1) {
    last.c = {b, 0.0, 0.0};  // x_t = (sigma_t / sigma_s) x + alpha_t (1 - e^{-h}) x0_s
    return plan;
  }
  if (order != 2) throw std::logic_error("data_step: DPM-Solver++ singlestep orders are 1 and 2");
  const double r1 = (p.lambda(points[1]) - lambda_s) / h;
  plan.stages[0].cx = p.sigma(points[1]) / sigma_s;
  plan.stages[0].c = {p.alpha(points[1]) * r1 * h * exp_phi(1, -r1 * h), 0.0, 0.0};
  // x_t = first order + alpha_t (1 - e^{-h}) / (2 r1) (x0_1 - x0_s)
  const double d = 0.5 / r1 * b;
  last.c = {b - d, d, 0.0};
  return plan;
}

StepPlan<double> plan_step(const ForwardProcess& p, DpmPrediction prediction, int order,
                           const std::array<double, 4>& points) {
  return prediction == DpmPrediction::noise ? noise_step(p, order, points)
                                            : data_step(p, order, points);
}

template <class T>
torch::Tensor combine(const Stage<T>& stage, const torch::Tensor& x,
                      const std::array<torch::Tensor, 3>& model, int n) {
  auto out = scale(x, stage.cx);
  for (int j = 0; j < n; ++j)
    if (has_weight(stage.c[j])) add_scaled(out, model[j], stage.c[j]);
  return out;
}

template <class T>
torch::Tensor run_step(const Denoiser& denoiser, const torch::Tensor& x, const StepPlan<T>& step,
                       DpmPrediction prediction) {
  std::array<torch::Tensor, 3> model;  // this step's evaluations (eps or x0), in locals
  for (int k = 0; k < step.order; ++k) {
    const auto input = k == 0 ? x : combine(step.stages[k - 1], x, model, k);  // u_k
    const auto prediction_k = denoiser.predict(input, step.times[k]);
    model[k] = prediction == DpmPrediction::noise ? prediction_k.eps : prediction_k.x0;
  }
  return combine(step.stages[step.order - 1], x, model, step.order);  // x_t
}

torch::Tensor run_plan(const Denoiser& denoiser, torch::Tensor x,
                       const std::vector<StepPlan<double>>& plan, DpmPrediction prediction) {
  for (const auto& step : plan) x = run_step(denoiser, x, step, prediction);
  return x;
}

}  // namespace

std::vector<double> dpm_solver_lambdas(const ForwardProcess& process,
                                       const std::vector<double>& times,
                                       const std::string& sampler) {
  require(times.size() >= 2, sampler + ": the time grid needs at least two times");
  std::vector<double> lambda(times.size());
  for (std::size_t i = 0; i < times.size(); ++i) {
    lambda[i] = process.lambda(times[i]);
    require(std::isfinite(lambda[i]),
            sampler + ": lambda = log(alpha / sigma) of process '" + process.name() +
                "' is infinite at t = " + std::to_string(times[i]) +
                " (alpha or sigma is 0 there) and the solver steps in lambda; keep the grid " +
                "inside (process.t_max, sampler.t_end or sampler.times)");
  }
  return lambda;
}

std::vector<int> dpm_solver_fast_orders(int nfe, int max_order) {
  require(max_order >= 1 && max_order <= 3,
          "DPM-Solver-fast: the order must be 1, 2 or 3, got " + std::to_string(max_order));
  require(nfe >= 1, "DPM-Solver-fast: an order mix cannot spend NFE = " + std::to_string(nfe) +
                        " (it needs NFE >= 1)");
  std::vector<int> orders;
  if (max_order == 3) {
    const int k = nfe / 3 + 1;  // outer steps
    const int threes = nfe % 3 == 0 ? k - 2 : k - 1;
    orders.assign(threes, 3);
    if (nfe % 3 == 0) orders.insert(orders.end(), {2, 1});
    if (nfe % 3 == 1) orders.push_back(1);
    if (nfe % 3 == 2) orders.push_back(2);
  } else if (max_order == 2) {
    orders.assign(nfe / 2, 2);
    if (nfe % 2 == 1) orders.push_back(1);
  } else {
    orders.assign(nfe, 1);
  }
  return orders;
}

std::vector<double> singlestep_inner_times(const ForwardProcess& process,
                                           const std::string& spacing, double s, double t,
                                           int order) {
  std::vector<double> inner;
  for (int k = 1; k < order; ++k) {
    const double f = double(k) / order;
    if (spacing == "uniform") {
      inner.push_back(s + (t - s) * f);
    } else if (spacing == "quadratic") {
      const double r = std::sqrt(s) + (std::sqrt(t) - std::sqrt(s)) * f;
      inner.push_back(r * r);
    } else {
      const double lambda_s = process.lambda(s);
      inner.push_back(process.t_of_lambda(lambda_s + (process.lambda(t) - lambda_s) * f));
    }
  }
  return inner;
}

std::vector<double> dpm_solver_fast_grid(const ForwardProcess& process,
                                         const TimeGridConfig& grid, int max_order) {
  const auto orders = dpm_solver_fast_orders(grid.steps, max_order);
  if (grid.kind != "logsnr") return make_time_grid(process, grid);
  // The reference's logSNR rule: K outer steps uniform in lambda, each split in lambda.
  TimeGridConfig outer_config = grid;
  outer_config.steps = static_cast<int>(orders.size());
  const auto outer = make_time_grid(process, outer_config);
  std::vector<double> times = {outer.front()};
  for (std::size_t k = 0; k < orders.size(); ++k) {
    const auto inner = singlestep_inner_times(process, "logsnr", outer[k], outer[k + 1], orders[k]);
    times.insert(times.end(), inner.begin(), inner.end());
    times.push_back(outer[k + 1]);
  }
  return times;
}

torch::Tensor sample_dpm_solver_singlestep(const Denoiser& denoiser, torch::Tensor x,
                                          const TimeGrid& times, const SpacingOptions& options,
                                          DpmPrediction prediction, int order) {
  const auto& p = denoiser.process();
  const auto name = prediction == DpmPrediction::data ? "dpm-solver++2s"
                                                      : "dpm-solver-" + std::to_string(order);
  dpm_solver_lambdas(p, times, name);
  std::vector<StepPlan<double>> plan;  // intermediate times spaced like the grid kind
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    std::array<double, 4> points = {times[i], 0.0, 0.0, 0.0};
    const auto inner = singlestep_inner_times(p, options.spacing, times[i], times[i + 1], order);
    for (int k = 1; k < order; ++k) points[k] = inner[k - 1];
    points[order] = times[i + 1];
    plan.push_back(plan_step(p, prediction, order, points));
  }
  return run_plan(denoiser, std::move(x), plan, prediction);
}

torch::Tensor sample_dpm_solver_fast(const Denoiser& denoiser, torch::Tensor x,
                                     const TimeGrid& times, int max_order) {
  const auto& p = denoiser.process();
  dpm_solver_lambdas(p, times, max_order == 3 ? "dpm-solver-fast" : "dpm-solver-fast-2");
  // The mix walks a grid of NFE intervals: a step of order q spans q of them.
  const auto orders = dpm_solver_fast_orders(static_cast<int>(times.size()) - 1, max_order);
  std::vector<StepPlan<double>> plan;
  std::size_t i = 0;
  for (int order : orders) {
    std::array<double, 4> points = {0.0, 0.0, 0.0, 0.0};
    for (int k = 0; k <= order; ++k) points[k] = times[i + k];
    plan.push_back(noise_step(p, order, points));
    i += order;
  }
  return run_plan(denoiser, std::move(x), plan, DpmPrediction::noise);
}

torch::Tensor dpm_solver_step(const Denoiser& denoiser, const torch::Tensor& x,
                              const torch::Tensor& s, const torch::Tensor& t, int order) {
  require(order >= 1 && order <= 3, "dpm_solver_step: order must be 1, 2 or 3");
  const auto& p = denoiser.process();
  std::array<torch::Tensor, 4> points;
  points[0] = s.to(torch::kFloat64);
  points[order] = t.to(torch::kFloat64);
  const auto lambda_s = p.lambda(points[0]), h = p.lambda(points[order]) - lambda_s;
  for (int k = 1; k < order; ++k) points[k] = p.t_of_lambda(lambda_s + h * (double(k) / order));
  return run_step(denoiser, x, noise_step(p, order, points), DpmPrediction::noise);
}

}  // namespace diffuse
