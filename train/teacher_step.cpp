#include "train/teacher_step.h"

#include "core/errors.h"
#include "core/numerics.h"

namespace diffuse {

namespace {

torch::Tensor velocity(const Denoiser& teacher, const torch::Tensor& x, const torch::Tensor& t) {
  const auto [x0, eps] = teacher.predict(x, t);
  const auto c = coefficients_at(teacher.process(), t, x);
  return c.dalpha_dt * x0 + c.dsigma_dt * eps;
}

torch::Tensor euler(const Denoiser& teacher, const torch::Tensor& x, const torch::Tensor& s,
                    const torch::Tensor& t) {
  return x + per_sample(t - s, x) * velocity(teacher, x, s);
}

torch::Tensor heun(const Denoiser& teacher, const torch::Tensor& x, const torch::Tensor& s,
                   const torch::Tensor& t) {
  const auto h = per_sample(t - s, x);
  const auto d = velocity(teacher, x, s);             // slope at s
  const auto x_euler = x + h * d;                     // predictor
  const auto d_next = velocity(teacher, x_euler, t);  // slope at the prediction
  return x + 0.5 * h * (d + d_next);                  // trapezoidal corrector
}

torch::Tensor dpm_solver_2(const Denoiser& teacher, const torch::Tensor& x, const torch::Tensor& s,
                           const torch::Tensor& t) {
  const auto& p = teacher.process();
  // Coefficients in float64, cast once (as coefficients_at does).
  const auto s64 = s.to(torch::kFloat64), t64 = t.to(torch::kFloat64);
  const auto lambda_s = p.lambda(s64), h = p.lambda(t64) - lambda_s;
  const auto s1 = p.t_of_lambda(lambda_s + 0.5 * h);  // the midpoint in lambda (r1 = 1/2)
  const auto alpha_s = p.alpha(s64);
  const auto eps_s = teacher.predict(x, s64).eps;
  // u = (alpha_s1 / alpha_s) x - sigma_s1 (e^(h/2) - 1) eps(x, s)
  const auto u = per_sample(p.alpha(s1) / alpha_s, x) * x -
                 per_sample(p.sigma(s1) * torch::expm1(0.5 * h), x) * eps_s;
  // x_t = (alpha_t / alpha_s) x - sigma_t (e^h - 1) eps(u, s1)
  return per_sample(p.alpha(t64) / alpha_s, x) * x -
         per_sample(p.sigma(t64) * torch::expm1(h), x) * teacher.predict(u, s1).eps;
}

}  // namespace

torch::Tensor teacher_ode_step(const std::string& solver, const Denoiser& teacher,
                               const torch::Tensor& x, const torch::Tensor& s,
                               const torch::Tensor& t) {
  require(s.dim() == 1 && t.dim() == 1 && s.size(0) == x.size(0) && t.size(0) == x.size(0),
          "teacher_ode_step: expected one time s and t per example");
  if (solver == "euler") return euler(teacher, x, s, t);
  if (solver == "heun") return heun(teacher, x, s, t);
  if (solver == "dpm-solver-2") return dpm_solver_2(teacher, x, s, t);
  throw InputError("distill.solver = '" + solver + "': expected euler, heun or dpm-solver-2");
}

int teacher_evaluations(const std::string& solver) {
  if (solver == "euler") return 1;
  if (solver == "heun" || solver == "dpm-solver-2") return 2;
  throw InputError("distill.solver = '" + solver + "': expected euler, heun or dpm-solver-2");
}

}  // namespace diffuse
