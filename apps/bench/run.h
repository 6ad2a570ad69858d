// The measurements of `diffuse bench`: every sampling configuration (sampler x steps x batch)
// and one training step, each after warm-up runs and timed `repeats` times, reported as the
// median with its spread; with a peer, the peer's check and times beside diffuse's, its runs
// alternating with diffuse's one by one so that a change of machine load hits both alike.
#pragma once

#include "apps/bench/model.h"
#include "apps/bench/peer.h"
#include "apps/bench/sampling.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace diffuse {

struct BenchPlan {
  std::vector<SamplingSpec> sampling;  // every configuration, in order
  int repeats = 5;
  int warmup = 1;
  std::int64_t train_steps = 20;  // per timed repeat; 0: no training step
  bool cuda_graph = true;  // on CUDA, also time each configuration replayed as a CUDA graph
  bool peer = false;
  PeerOptions peer_options;
};

// The report: {"command", "environment", "model", "settings", "sampling": [...], "training",
// "peer"}; progress, one line per configuration, goes to stderr. For a network, each timing
// also reads as FLOP/s and as a fraction of the device's measured matrix-product rate.
nlohmann::json run_bench(const BenchPlan& plan, BenchModel& model, const RunConfig& config,
                         const RunContext& run);

// False when the peer ran and one of its outputs did not match diffuse's.
bool peer_matched(const nlohmann::json& report);

}  // namespace diffuse
