// Gradient buckets for data-parallel training: the sum over ranks of each bucket
// starts as soon as the backward pass has produced every gradient in it, so communication
// overlaps the rest of the backward pass (what Python's DDP Reducer does).
//
// Buckets hold consecutive parameters in reverse order (backward produces the last layers'
// gradients first), up to a byte cap, and start strictly in order, so every rank issues the same
// collectives in the same sequence. The last bucket (the first layers) starts in finish() and
// also carries the few scalars of the step (the loss, a stop request).
//
// Gradients arrive through tensor hooks on the parameters, which autograd runs once per backward
// pass with a parameter's whole gradient (it sums every use first). A second backward pass
// before finish() (gradient accumulation) finds buckets already started and makes the step fall
// back to summing the accumulated .grad.
//
//   GradientBuckets buckets(params, 4 << 20, launch, wait_all);  // hooks stay until destroyed
//   loss.backward();             // buckets start as they fill
//   buckets.finish(scalars);     // the rest; .grad and scalars now hold the sums over ranks
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace diffuse {

class GradientBuckets {
 public:
  using Launch = std::function<void(torch::Tensor& flat)>;  // starts an in-place sum over ranks
  using WaitAll = std::function<void()>;                    // waits for every started sum

  GradientBuckets(std::vector<torch::Tensor> params, std::int64_t bucket_bytes, Launch launch,
                  WaitAll wait_all);
  ~GradientBuckets();  // removes the hooks
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // After backward: starts the buckets still waiting (a parameter without a gradient counts as
  // zeros), waits for all, and writes the sums into each .grad and into `scalars`.
  void finish(torch::Tensor& scalars);

  std::size_t bucket_count() const { return buckets_.size(); }
  // Buckets started during the last backward pass (before finish()), and whether it fell back.
  std::size_t started_early() const { return started_early_; }
  bool fell_back() const { return fell_back_; }

 private:
  struct Bucket {
    std::vector<std::size_t> params;  // indices into params_, in the bucket's order
    std::vector<std::int64_t> offsets;
    torch::Tensor flat;  // the gradients end to end (the last bucket: then the scalars)
    std::size_t pending = 0;  // parameters whose gradient has not arrived this step
    bool started = false;
  };

  void on_gradient(std::size_t param, const torch::Tensor& grad);
  void start_ready_buckets();
  void start(Bucket& bucket);
  void reset();

  std::vector<torch::Tensor> params_;
  std::vector<unsigned> hooks_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<std::size_t, std::size_t>> where_;  // param -> (bucket, slot)
  std::vector<int> arrivals_;                                // per param, this step
  std::size_t next_ = 0;  // the next bucket to start
  std::size_t early_this_step_ = 0, started_early_ = 0;
  bool fell_back_ = false, reused_ = false;
  Launch launch_;
  WaitAll wait_all_;
};

}  // namespace diffuse
