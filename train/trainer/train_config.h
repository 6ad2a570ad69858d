// The `train:` section of a run config: optimiser, schedule, EMA, logging, checkpoints,
// the DSM loss and where the training data comes from. Defaults live here only.
//
//   train:
//     steps: 4000            batch_size: 512        lr: 2e-3      optimizer: adam   # or adamw
//     warmup: 200            schedule: cosine       min_lr: 0     clip: 1.0         # 0: no clip
//     ema_decay: 0.999       log_every: 100         checkpoint_every: 1000
//     out: runs/ring8-mlp    # checkpoint.pt, train.jsonl and config.yaml go here
//     loss: auto             # auto = the model's parameterization; eps|x0|v|velocity|score|edm
//     t_sampling: auto       # auto: log-normal for edm, else uniform; uniform | log-normal
//     p_mean: -1.2           p_std: 1.2             # log-normal sigma/alpha (Karras et al.)
//     data_size: 0           # mixtures: 0 = fresh samples every step, n = a fixed set of n
//     eval_size: 4096        # held-out DSM draws scored at every log line (0: none)
#pragma once

#include "core/base/config.h"

#include <cstdint>
#include <string>

namespace diffuse {

struct TrainConfig {
  std::int64_t steps = 2000;
  std::int64_t batch_size = 512;
  double lr = 1e-3;
  std::string optimizer = "adam";
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  std::int64_t warmup = 100;
  std::string schedule = "constant";
  double min_lr = 0.0;  // cosine: the rate it decays to
  double clip = 1.0;    // max gradient norm; 0: no clipping (the norm is still logged)
  double ema_decay = 0.999;
  std::int64_t log_every = 100;
  std::int64_t checkpoint_every = 1000;
  std::string out = "runs/train";
  std::string loss = "auto";
  std::string t_sampling = "auto";
  double p_mean = -1.2;
  double p_std = 1.2;
  std::int64_t data_size = 0;
  std::int64_t eval_size = 4096;
  // Class-conditional models: the probability that a label is replaced by the null label, which
  // trains the unconditional branch classifier-free guidance needs (Ho & Salimans 2022: 0.1-0.2).
  double label_dropout = 0.1;

  template <class V>
  void visit(V& v) {
    v("steps", steps, config::at_least<std::int64_t>(1));
    v("batch_size", batch_size, config::at_least<std::int64_t>(1));
    v("lr", lr, config::greater_than(0.0));
    v("optimizer", optimizer, config::one_of({"adam", "adamw"}));
    v("weight_decay", weight_decay, config::at_least(0.0));
    v("beta1", beta1, config::in_range(0.0, 1.0));
    v("beta2", beta2, config::in_range(0.0, 1.0));
    v("warmup", warmup, config::at_least<std::int64_t>(0));
    v("schedule", schedule, config::one_of({"constant", "cosine"}));
    v("min_lr", min_lr, config::at_least(0.0));
    v("clip", clip, config::at_least(0.0));
    v("ema_decay", ema_decay, config::in_range(0.0, 1.0));
    v("log_every", log_every, config::at_least<std::int64_t>(1));
    v("checkpoint_every", checkpoint_every, config::at_least<std::int64_t>(1));
    v("out", out);
    v("loss", loss, config::one_of({"auto", "eps", "x0", "v", "velocity", "score", "edm"}));
    v("t_sampling", t_sampling, config::one_of({"auto", "uniform", "log-normal"}));
    v("p_mean", p_mean);
    v("p_std", p_std, config::greater_than(0.0));
    v("data_size", data_size, config::at_least<std::int64_t>(0));
    v("eval_size", eval_size, config::at_least<std::int64_t>(0));
    v("label_dropout", label_dropout, config::in_range(0.0, 1.0));
  }
};

}  // namespace diffuse
