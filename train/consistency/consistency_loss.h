// The consistency loss (Song et al. 2023, eq. 7 and 10; Song & Dhariwal 2023, Sec. 3.3): for an
// adjacent pair t_n < t_{n+1} of the discretisation and x_{t_{n+1}} = alpha x0 + sigma z,
//
//   lambda_n d(f_theta(x_{t_{n+1}}, t_{n+1}), f_theta^-(x_hat_{t_n}, t_n)),
//
// the target f_theta^- evaluated without gradient. x_hat_{t_n} is
//   distillation  one ODE step of the teacher from x_{t_{n+1}} back to t_n (teacher_step.h);
//   training      alpha_n x0 + sigma_n z with x_{t_{n+1}}'s own z: the point of the conditional
//                 trajectory given (x0, z). For edm and rf (alpha, sigma linear in t) it is the
//                 Euler step with the one-sample score estimate -(x_t - alpha x0) / sigma^2, the
//                 unbiased estimator of Song et al. (Lemma 1, Theorem 2).
// d: l2 = the mean over dimensions of squared differences (the DSM losses' scale), or
// pseudo-huber = sqrt(|a - b|^2 + c^2) - c on the whole vector (Song & Dhariwal 2023).
//
//   ConsistencyDraw draw = distillation_draw(teacher, "heun", x0, t_n, t_next, z);
//   torch::Tensor loss = consistency_losses(student, target, draw, "l2", 0.0).mean();
#pragma once

#include "models/denoiser.h"
#include "models/score_model.h"

#include <string>

namespace diffuse {

struct ConsistencyDraw {
  torch::Tensor x_next, t_next;  // x_{t_{n+1}} [B, dims...] and t_{n+1} [B] (float64)
  torch::Tensor x_now, t_now;    // x_hat_{t_n} and t_n
  torch::Tensor weight;          // lambda_n [B] (float64); undefined: 1
};

ConsistencyDraw distillation_draw(const Denoiser& teacher, const std::string& solver,
                                  const torch::Tensor& x0, const torch::Tensor& t_now,
                                  const torch::Tensor& t_next, const torch::Tensor& z);
ConsistencyDraw training_draw(const ForwardProcess& process, const torch::Tensor& x0,
                              const torch::Tensor& t_now, const torch::Tensor& t_next,
                              const torch::Tensor& z);

// d(a, b) per example [B] for metric l2 or pseudo-huber (huber_c: its c > 0).
torch::Tensor consistency_distance(const std::string& metric, double huber_c,
                                   const torch::Tensor& a, const torch::Tensor& b);

// lambda_n d(student(x_next, t_next), target(x_now, t_now)) per example [B], differentiable in
// the student only.
torch::Tensor consistency_losses(ScoreModel& student, ScoreModel& target,
                                 const ConsistencyDraw& draw, const std::string& metric,
                                 double huber_c);

}  // namespace diffuse
