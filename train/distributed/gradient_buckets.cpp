#include "train/distributed/gradient_buckets.h"

#include "core/base/errors.h"

namespace diffuse {

GradientBuckets::GradientBuckets(std::vector<torch::Tensor> params, std::int64_t bucket_bytes,
                                 Launch launch, WaitAll wait_all)
    : params_(std::move(params)), launch_(std::move(launch)), wait_all_(std::move(wait_all)) {
  require(!params_.empty(), "GradientBuckets: no parameters");
  where_.resize(params_.size());
  arrivals_.assign(params_.size(), 0);
  std::int64_t bytes = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    const std::int64_t size = static_cast<std::int64_t>(p.numel() * p.element_size());
    const bool fits = !buckets_.empty() && bytes + size <= bucket_bytes &&
                      buckets_.back().flat.dtype() == p.dtype() &&
                      buckets_.back().flat.device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      buckets_.back().flat = torch::empty({0}, p.options().requires_grad(false));
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    where_[k] = {buckets_.size() - 1, b.params.size()};
    b.offsets.push_back(bytes / p.element_size());
    b.params.push_back(k);
    bytes += size;
  }
  for (auto& b : buckets_) {
    const auto& last = params_[b.params.back()];
    b.flat = torch::zeros({b.offsets.back() + last.numel()}, b.flat.options());
  }
  for (std::size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(params_[k].register_hook(
        [this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  reset();
}

GradientBuckets::~GradientBuckets() {
  for (std::size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradientBuckets::reset() {
  for (auto& b : buckets_) {
    b.pending = b.params.size();
    b.started = false;
  }
  std::fill(arrivals_.begin(), arrivals_.end(), 0);
  next_ = 0;
  early_this_step_ = 0;
  reused_ = false;
}

void GradientBuckets::on_gradient(std::size_t param, const torch::Tensor& grad) {
  torch::NoGradGuard no_grad;
  const auto [index, slot] = where_[param];
  Bucket& b = buckets_[index];
  if (b.started) {  // a second backward pass before finish(): finish() falls back
    reused_ = true;
    return;
  }
  auto view = b.flat.narrow(0, b.offsets[slot], params_[param].numel());
  if (arrivals_[param]++ == 0) {
    view.copy_(grad.reshape({-1}));
    --b.pending;
  } else {
    view.add_(grad.reshape({-1}));
  }
  start_ready_buckets();
}

void GradientBuckets::start_ready_buckets() {
  // In order, and never the last: it carries the scalars, known in finish().
  while (next_ + 1 < buckets_.size() && buckets_[next_].pending == 0) {
    start(buckets_[next_++]);
    ++early_this_step_;
  }
}

void GradientBuckets::start(Bucket& bucket) {
  bucket.started = true;
  launch_(bucket.flat);
}

void GradientBuckets::finish(torch::Tensor& scalars) {
  torch::NoGradGuard no_grad;
  fell_back_ = reused_;
  if (fell_back_) {
    // Let the started sums complete (every rank started the same ones), then redo all buckets
    // from the accumulated gradients.
    wait_all_();
    for (std::size_t k = 0; k < params_.size(); ++k) arrivals_[k] = 0;
    for (auto& b : buckets_) b.started = false;
    next_ = 0;
  }
  // Fill what did not arrive (unused parameters: zeros; after a fallback: everything).
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (arrivals_[k] > 0) continue;
    const auto [index, slot] = where_[k];
    auto view = buckets_[index].flat.narrow(0, buckets_[index].offsets[slot], params_[k].numel());
    const auto& g = params_[k].grad();
    if (fell_back_ && g.defined())
      view.copy_(g.reshape({-1}));
    else
      view.zero_();
  }
  Bucket& last = buckets_.back();
  const std::int64_t grads_end = last.offsets.back() + params_[last.params.back()].numel();
  if (last.flat.numel() != grads_end + scalars.numel())
    last.flat = torch::cat({last.flat.narrow(0, 0, grads_end),
                            torch::zeros({scalars.numel()}, last.flat.options())});
  last.flat.narrow(0, grads_end, scalars.numel()).copy_(scalars);
  while (next_ < buckets_.size()) start(buckets_[next_++]);
  wait_all_();
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const auto [index, slot] = where_[k];
    auto sum = buckets_[index].flat.narrow(0, buckets_[index].offsets[slot], params_[k].numel());
    auto& grad = params_[k].mutable_grad();
    if (!grad.defined()) grad = torch::zeros_like(params_[k]);
    grad.copy_(sum.view_as(grad));
  }
  scalars.copy_(last.flat.narrow(0, grads_end, scalars.numel()));
  started_early_ = early_this_step_;
  reset();
}

}  // namespace diffuse
