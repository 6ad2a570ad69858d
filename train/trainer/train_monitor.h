// The logging piece of training: per-interval averages written as JSON Lines (step, loss, lr,
// grad_norm, steps_per_s, plus whatever the caller adds, e.g. eval losses) and a progress bar
// with the loss and the ETA (core/base/progress.h: a redrawn line on a terminal, plain lines in
// logs).
//
//   TrainMonitor monitor("runs/x/train.jsonl", /*append=*/false, start, steps);
//   monitor.record(r.loss, r.grad_norm);                   // every step
//   monitor.log(step, lr, [&] { return nlohmann::json{{"eval_loss", 0.31}}; });
#pragma once

#include "core/base/progress.h"
#include "core/io/jsonl.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace diffuse {

class TrainMonitor {
 public:
  TrainMonitor(const std::string& log_path, bool append, std::int64_t start, std::int64_t total);

  void record(double loss, double grad_norm);
  // Writes the interval's line (with the fields `extra` returns, computed off the clock) and
  // starts a new interval; returns the line.
  nlohmann::json log(std::int64_t step, double lr,
                     const std::function<nlohmann::json()>& extra = nullptr);
  void finish() { progress_.finish(); }

  // Steps per second over the whole run so far (excluding time spent inside log()).
  double steps_per_second() const;

 private:
  using Clock = std::chrono::steady_clock;

  JsonlWriter writer_;
  Progress progress_;
  double loss_sum_ = 0.0, grad_norm_sum_ = 0.0, busy_seconds_ = 0.0;
  std::int64_t count_ = 0, total_count_ = 0;
  Clock::time_point interval_start_;
};

}  // namespace diffuse
