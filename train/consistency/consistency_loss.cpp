#include "train/consistency/consistency_loss.h"

#include "core/base/errors.h"
#include "train/consistency/teacher_step.h"

namespace diffuse {

ConsistencyDraw distillation_draw(const Denoiser& teacher, const std::string& solver,
                                  const torch::Tensor& x0, const torch::Tensor& t_now,
                                  const torch::Tensor& t_next, const torch::Tensor& z) {
  const auto c = coefficients_at(teacher.process(), t_next, x0);
  ConsistencyDraw draw;
  draw.t_next = t_next;
  draw.t_now = t_now;
  draw.x_next = c.alpha * x0 + c.sigma * z;
  torch::NoGradGuard no_grad;  // the teacher is fixed
  draw.x_now = teacher_ode_step(solver, teacher, draw.x_next, t_next, t_now);
  return draw;
}

ConsistencyDraw training_draw(const ForwardProcess& process, const torch::Tensor& x0,
                              const torch::Tensor& t_now, const torch::Tensor& t_next,
                              const torch::Tensor& z) {
  const auto next = coefficients_at(process, t_next, x0), now = coefficients_at(process, t_now, x0);
  ConsistencyDraw draw;
  draw.t_next = t_next;
  draw.t_now = t_now;
  draw.x_next = next.alpha * x0 + next.sigma * z;
  draw.x_now = now.alpha * x0 + now.sigma * z;
  return draw;
}

torch::Tensor consistency_distance(const std::string& metric, double huber_c,
                                   const torch::Tensor& a, const torch::Tensor& b) {
  const auto diff = (a - b).reshape({a.size(0), -1});
  if (metric == "l2") return diff.square().mean(1);
  if (metric == "pseudo-huber") {
    require(huber_c > 0.0, "distill.huber_c must be > 0");
    return (diff.square().sum(1) + huber_c * huber_c).sqrt() - huber_c;
  }
  throw InputError("distill.metric = '" + metric + "': expected l2 or pseudo-huber");
}

torch::Tensor consistency_losses(ScoreModel& student, ScoreModel& target,
                                 const ConsistencyDraw& draw, const std::string& metric,
                                 double huber_c) {
  torch::Tensor aim;
  {
    torch::NoGradGuard no_grad;  // theta^- is a stop-gradient copy
    aim = target.forward(draw.x_now, draw.t_now);
  }
  const auto loss =
      consistency_distance(metric, huber_c, student.forward(draw.x_next, draw.t_next), aim);
  if (!draw.weight.defined()) return loss;
  return draw.weight.to(loss.dtype()) * loss;
}

}  // namespace diffuse
