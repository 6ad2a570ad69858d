// The Python PyTorch peer of `diffuse bench --peer` (scripts/bench_peer.py): the same network
// with the same weights, the same process, sampler formulas, time grid, batch and x_T, and the
// training step of scripts/bench_train_step.py. diffuse writes what the peer needs into a folder
// (spec.json; weights/NAME.npy per parameter and buffer; per case the x_T and diffuse's x_0 as
// .npy), starts `python3 bench_peer.py spec.json` and asks it, one request at a time, to check
// its output against diffuse's and to time runs, so the two sides' runs can alternate.
//
//   check_peer_supports(model, samplers, run);   // InputError naming what the peer lacks
//   BenchPeer peer(options, model, cases, train_batch);
//   nlohmann::json check = peer.check(0);         // {"max_abs_diff", "match", ...}
//   double s = peer.time_sample(0, 1)[0];
#pragma once

#include "apps/bench/model.h"
#include "apps/bench/peer_process.h"
#include "apps/bench/sampling.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace diffuse {

// The samplers the peer implements.
const std::vector<std::string>& peer_samplers();

// InputError unless the peer can reproduce this model and these samplers: an unconditional
// `mlp` with eps prediction on vp-linear (beta 0.1..20, bench_train_step.py's), float32 (on the
// CPU or a CUDA device), and samplers from peer_samplers().
void check_peer_supports(const BenchModel& model, const std::vector<std::string>& samplers,
                         const RunContext& run);

struct PeerOptions {
  std::string python = "/usr/bin/python3";
  std::string script;  // empty: scripts/bench_peer.py beside the build folder, or under cwd
  std::string folder;  // empty: a temporary folder, removed afterwards
  int threads = 1;
  std::string device = "cpu";  // torch's name: cpu, cuda:0, ...
};

// The training step the peer times: bench_train_step.py's data kind ("ring8" or "images") and
// the config's sizes; an empty data kind means the peer cannot time this data.
struct PeerTraining {
  std::string data;
  std::int64_t batch = 0;
  double lr = 0.0;
};
PeerTraining peer_training(const DataConfig& data, const TrainConfig& train);

class BenchPeer {
 public:
  BenchPeer(const PeerOptions& options, const BenchModel& model,
            const std::vector<SamplingCase>& cases, const PeerTraining& training);
  ~BenchPeer();

  const nlohmann::json& hello() const { return hello_; }   // {"torch", "python", "threads"}
  const std::string& command() const { return command_; }  // python and script
  nlohmann::json check(std::size_t case_index);
  std::vector<double> time_sample(std::size_t case_index, int runs);
  nlohmann::json time_train(std::int64_t steps);  // bench_train_step.py's JSON line

 private:
  void clean_up();  // ends the peer, removes a temporary folder

  std::string command_;
  std::string folder_;
  bool remove_folder_ = false;
  std::unique_ptr<PeerProcess> process_;
  nlohmann::json hello_;
};

}  // namespace diffuse
