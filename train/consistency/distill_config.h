// The `distill:` section of a run config: consistency distillation from a teacher
// (Song et al. 2023, "Consistency Models", Algorithm 2) or consistency training without one
// (Algorithm 3, with the improvements of Song & Dhariwal 2023). Defaults live here only; the
// `train:` section still sets steps, batch, optimiser, schedule, EMA, logs and checkpoints.
//
//   distill:
//     teacher: analytic  # analytic | a `diffuse train` checkpoint | none (consistency training)
//     solver: heun           # the teacher's ODE step t_{n+1} -> t_n: euler | heun | dpm-solver-2
//     n: 18                  # N: the discretisation t_1 < ... < t_N of [t_min, t_max]
//     grid: karras           # its spacing: a time grid kind (core/process/time_grid.h)
//     n_schedule: fixed      # fixed N | improved: N = min(n_min 2^floor(k / K'), n_max) + 1 (iCT)
//     n_min: 10, n_max: 1280 # s0, s1 of the improved schedule
//     target_decay: 0.95     # mu of theta^- <- mu theta^- + (1 - mu) theta; 0: theta^- = theta
//     metric: l2             # l2 (mean squared difference) | pseudo-huber: sqrt(|d|^2 + c^2) - c
//     huber_c: null          # default 0.00054 sqrt(D) (iCT's c, for sigma_data = 0.5)
//     weighting: uniform     # uniform | inverse-gap: 1 / (s_{n+1} - s_n), s = sigma / alpha (iCT)
//     index_sampling: uniform  # uniform n | log-normal: P(n) by log s ~ N(p_mean, p_std^2) (iCT)
//     p_mean: -1.1, p_std: 2.0
//     init: random           # random | teacher: start from the teacher's weights (same model)
//     eval_samples: 4096     # mixture data: 1- and 2-step sliced W2 at every log line (0: off)
#pragma once

#include "core/base/config.h"
#include "core/process/time_grid.h"

#include <cstdint>
#include <optional>
#include <string>

namespace diffuse {

struct DistillConfig {
  std::string teacher;
  std::string solver = "heun";
  int n = 18;
  std::string grid = "karras";
  double rho = 7.0;
  std::string n_schedule = "fixed";
  int n_min = 10;
  int n_max = 1280;
  double target_decay = 0.95;
  std::string metric = "l2";
  std::optional<double> huber_c;
  std::string weighting = "uniform";
  std::string index_sampling = "uniform";
  double p_mean = -1.1;
  double p_std = 2.0;
  std::string init = "random";
  std::int64_t eval_samples = 4096;

  // Consistency training: no teacher, the one-sample estimate of the score instead.
  bool training() const { return teacher == "none"; }

  template <class V>
  void visit(V& v) {
    v("teacher", teacher);
    v("solver", solver, config::one_of({"euler", "heun", "dpm-solver-2"}));
    v("n", n, config::at_least(2));
    v("grid", grid, config::one_of({"karras", "logsnr", "uniform", "quadratic"}));
    v("rho", rho, config::greater_than(0.0));
    v("n_schedule", n_schedule, config::one_of({"fixed", "improved"}));
    v("n_min", n_min, config::at_least(1));
    v("n_max", n_max, config::at_least(1));
    v("target_decay", target_decay, config::Check<double>([](const double& mu) {
        return mu >= 0.0 && mu < 1.0 ? "" : "a value in [0, 1)";  // 1 would freeze the target
      }));
    v("metric", metric, config::one_of({"l2", "pseudo-huber"}));
    v("huber_c", huber_c, config::greater_than(0.0));
    v("weighting", weighting, config::one_of({"uniform", "inverse-gap"}));
    v("index_sampling", index_sampling, config::one_of({"uniform", "log-normal"}));
    v("p_mean", p_mean);
    v("p_std", p_std, config::greater_than(0.0));
    v("init", init, config::one_of({"random", "teacher"}));
    v("eval_samples", eval_samples, config::at_least<std::int64_t>(0));
  }
};

}  // namespace diffuse
