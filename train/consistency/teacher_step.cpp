#include "train/consistency/teacher_step.h"

#include "core/base/errors.h"
#include "samplers/dpm_solver.h"
#include "samplers/ode.h"

namespace diffuse {

torch::Tensor teacher_ode_step(const std::string& solver, const Denoiser& teacher,
                               const torch::Tensor& x, const torch::Tensor& s,
                               const torch::Tensor& t) {
  require(s.dim() == 1 && t.dim() == 1 && s.size(0) == x.size(0) && t.size(0) == x.size(0),
          "teacher_ode_step: expected one time s and t per example");
  if (solver == "euler") return euler_step(teacher, x, s, t);
  if (solver == "heun") return heun_step(teacher, x, s, t);
  if (solver == "dpm-solver-2") return dpm_solver_step(teacher, x, s, t, 2);
  throw InputError("distill.solver = '" + solver + "': expected euler, heun or dpm-solver-2");
}

int teacher_evaluations(const std::string& solver) {
  if (solver == "euler") return 1;
  if (solver == "heun" || solver == "dpm-solver-2") return 2;
  throw InputError("distill.solver = '" + solver + "': expected euler, heun or dpm-solver-2");
}

}  // namespace diffuse
