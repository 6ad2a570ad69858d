// The model `diffuse bench` times: a checkpoint's EMA network (--model), a config's network,
// freshly initialised, or the analytic score of a config's mixture; and, for a network, the
// trainer whose steps it times (train/trainer/trainer.h, as `diffuse train --bench-steps`).
//
// A fresh network's output layers are zero-initialised (models/mlp.h), so its output would not
// depend on its input; their zeros are replaced by small seeded values, so that sampling does
// the arithmetic of a trained model and the peer's check sees every layer. Timing is unaffected.
#pragma once

#include "apps/run/run_context.h"
#include "models/network.h"
#include "models/score_model.h"
#include "train/trainer/trainer.h"

#include <memory>
#include <string>

namespace diffuse {

struct BenchModel {
  ScoreModelPtr model;      // what the samplers see
  NetworkModelPtr network;  // the same as a network; null for the analytic score
  ProcessPtr process;
  ProcessConfig process_config;
  ModelConfig model_config;          // resolved (dim, sigma_data, parameterization) for a network
  std::string source;                // where the weights come from, for the report
  std::unique_ptr<Trainer> trainer;  // null: no training step to time
  std::string no_training;           // why not, when trainer is null
};

// config: the resolved run config (the checkpoint's for a checkpoint).
BenchModel make_bench_model(const RunConfig& config, const std::string& checkpoint,
                            const RunContext& run);

}  // namespace diffuse
