// The `finetune:` section of a run config: few-shot fine-tuning of a pretrained
// `subspace` model on N target samples. Defaults live here only.
//
//   finetune:
//     from: runs/source/checkpoint.pt   # the pretrained subspace model (its EMA weights)
//     data: runs/target.npy             # target samples [n, D]; the first `shots` rows train
//     shots: 8                          # N
//     holdout: 0                        # the next rows of `data` as a held-out split (0: none)
//     steps: 500        lr: 0.01        optimizer: adam     # adam | sgd
//     schedule: cosine                  # cosine (to 0 at the last step) | constant
//     draws: 64                         # (t, eps) draws per target sample per step
//     fixed_draws: false                # true: draw them once and reuse them every step (a
//                                       # deterministic empirical loss: plain descent, linear
//                                       # convergence near a strict minimum)
//     orthonormality: retraction        # QR after each step; penalty: weight * ||A^T A - I||^2
//     penalty: 1.0
//     init: source                      # the basis to start from: source (pretrained) | pca
//                                       # (of the shots, aligned to the source frame) | random
//                                       # | oracle (shared-latent data: the true A_ta in the
//                                       # pretrained frame, A_ta polar(A_s^T A_hat_s); the
//                                       # reference an infinite target set would reach)
//     extra: []                         # further parameters to train, by name
//                                       # (e.g. latent.out.bias; an unknown name lists them)
//     latent_noise: 0                   # "bad latent": perturb the frozen latent's weights by
//                                       # N(0, (latent_noise * RMS of each tensor)^2)
//     eval_every: 25    patience: 0     # held-out loss every eval_every steps; stop after
//                                       # `patience` evaluations without improvement (0: never)
//     eval_size: 2048                   # exact target draws for the logged score error
//     ema_decay: 0      log_every: 25   checkpoint_every: 500
//     out: runs/finetune                # checkpoint.pt, finetune.jsonl, config.yaml
#pragma once

#include "core/base/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffuse {

struct FinetuneConfig {
  std::string from;
  std::string data;
  std::int64_t shots = 8;
  std::int64_t holdout = 0;
  std::int64_t steps = 500;
  double lr = 1e-2;
  std::string optimizer = "adam";
  std::string schedule = "cosine";
  std::int64_t draws = 64;
  bool fixed_draws = false;
  std::string orthonormality = "retraction";
  double penalty = 1.0;
  std::string init = "source";
  std::vector<std::string> extra;
  double latent_noise = 0.0;
  std::int64_t eval_every = 25;
  std::int64_t patience = 0;
  std::int64_t eval_size = 2048;
  double ema_decay = 0.0;
  std::int64_t log_every = 25;
  std::int64_t checkpoint_every = 500;
  std::string out = "runs/finetune";

  template <class V>
  void visit(V& v) {
    v("from", from);
    v("data", data);
    v("shots", shots, config::at_least<std::int64_t>(1));
    v("holdout", holdout, config::at_least<std::int64_t>(0));
    v("steps", steps, config::at_least<std::int64_t>(0));
    v("lr", lr, config::greater_than(0.0));
    v("optimizer", optimizer, config::one_of({"adam", "sgd"}));
    v("schedule", schedule, config::one_of({"cosine", "constant"}));
    v("draws", draws, config::at_least<std::int64_t>(1));
    v("fixed_draws", fixed_draws);
    v("orthonormality", orthonormality, config::one_of({"retraction", "penalty"}));
    v("penalty", penalty, config::at_least(0.0));
    v("init", init, config::one_of({"source", "pca", "random", "oracle"}));
    v("extra", extra);
    v("latent_noise", latent_noise, config::at_least(0.0));
    v("eval_every", eval_every, config::at_least<std::int64_t>(1));
    v("patience", patience, config::at_least<std::int64_t>(0));
    v("eval_size", eval_size, config::at_least<std::int64_t>(0));
    v("ema_decay", ema_decay, config::in_range(0.0, 1.0));
    v("log_every", log_every, config::at_least<std::int64_t>(1));
    v("checkpoint_every", checkpoint_every, config::at_least<std::int64_t>(1));
    v("out", out);
  }
};

}  // namespace diffuse
