// Data parallelism for training on PyTorch's own distributed layer (c10d: a TCP store
// for the rendezvous, Gloo's process group for the collectives). Every rank holds the same
// weights, computes the gradient of its shard of each global batch, and the gradients are summed
// over the ranks before clipping and the optimiser step, so each rank takes the step one process
// with the whole batch would take (to float32 reduction rounding).
//
//   DataParallel group(*read_launch_environment(getenv), std::chrono::seconds(300));
//   group.attach(model->parameters());                  // sums start during each backward pass
//   Shard s = group.shard(512);                         // this rank's rows of a batch of 512
//   (per_sample_loss.narrow(0, s.begin, s.size).sum() / 512).backward();
//   group.sum_gradients(scalars);                       // then clip and step, on every rank
#pragma once

#include "train/distributed/launch_environment.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace diffuse {

// Rows [begin, begin + size) of a batch.
struct Shard {
  std::int64_t begin = 0, size = 0;
};

// The rows `rank` of `world_size` takes of `rows`: contiguous, in rank order, sizes differing by
// at most one, so the shards together are the whole batch.
Shard shard_of(std::int64_t rows, int rank, int world_size);

class GradientBuckets;  // train/distributed/gradient_buckets.h

class DataParallel {
 public:
  // Gradients are summed in buckets of about this many bytes
  // (train/distributed/gradient_buckets.h).
  static constexpr std::int64_t kBucketBytes = 4 << 20;

  // Joins the process group `env` describes; RuntimeFailure when the other ranks do not all
  // arrive within `timeout`, which also bounds every later collective (a rank that died or hangs
  // stops the others with a RuntimeFailure instead of a hang). InputError when this build has no
  // Gloo process group (see available()).
  DataParallel(const LaunchEnvironment& env, std::chrono::milliseconds timeout);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // Whether this build has c10d's Gloo process group (LibTorch's headers plus Gloo's).
  static bool available();

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool is_root() const { return env_.is_root(); }
  Shard shard(std::int64_t rows) const { return shard_of(rows, rank(), world_size()); }

  // Overwrites each tensor with rank 0's values.
  void broadcast_from_root(const std::vector<torch::Tensor>& tensors);
  // From now on the gradients of `params` are summed over the ranks in buckets that start
  // during each backward pass, as their gradients arrive.
  void attach(const std::vector<torch::Tensor>& params);
  // After a backward pass: completes the sums, in place, of every attached gradient (a missing
  // one counts as zeros) and of the few `scalars` (e.g. the loss and a stop request; summed in
  // the gradients' dtype).
  void sum_gradients(torch::Tensor& scalars);
  void barrier();

 private:
  struct Group;  // the c10d objects, kept out of this header
  LaunchEnvironment env_;
  std::unique_ptr<Group> group_;
  std::unique_ptr<GradientBuckets> buckets_;
};

// The rendezvous store a launcher hosts for the ranks it starts on this machine (c10d's TCP
// store on 127.0.0.1, on a free port the system picks); the ranks connect to it with
// TORCHELASTIC_USE_AGENT_STORE=True. It must outlive their start-up.
class HostedStore {
 public:
  explicit HostedStore(std::chrono::milliseconds timeout);
  ~HostedStore();
  std::uint16_t port() const { return port_; }

 private:
  struct Server;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace diffuse
