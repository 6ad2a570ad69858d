#include "train/trainer/train_monitor.h"

#include <cstdio>

namespace diffuse {

TrainMonitor::TrainMonitor(const std::string& log_path, bool append, std::int64_t start,
                           std::int64_t total)
    : writer_(log_path, /*truncate=*/!append),
      progress_("train", total - start, "step"),
      interval_start_(Clock::now()) {}

void TrainMonitor::record(double loss, double grad_norm) {
  loss_sum_ += loss;
  grad_norm_sum_ += grad_norm;
  ++count_;
  char note[48];
  std::snprintf(note, sizeof note, "loss %.4g", loss_sum_ / count_);
  progress_.set_note(note);
  progress_.advance();
}

nlohmann::json TrainMonitor::log(std::int64_t step, double lr,
                                 const std::function<nlohmann::json()>& extra) {
  const double seconds = std::chrono::duration<double>(Clock::now() - interval_start_).count();
  busy_seconds_ += seconds;
  total_count_ += count_;
  nlohmann::json line = {{"step", step},
                         {"loss", count_ ? loss_sum_ / count_ : 0.0},
                         {"lr", lr},
                         {"grad_norm", count_ ? grad_norm_sum_ / count_ : 0.0},
                         {"steps_per_s", seconds > 0 ? count_ / seconds : 0.0}};
  if (extra) {
    const nlohmann::json fields = extra();
    for (const auto& [key, value] : fields.items()) line[key] = value;
  }
  writer_.write(line);
  loss_sum_ = grad_norm_sum_ = 0.0;
  count_ = 0;
  interval_start_ = Clock::now();  // evaluation inside the caller's log step is not counted
  return line;
}

double TrainMonitor::steps_per_second() const {
  return busy_seconds_ > 0 ? total_count_ / busy_seconds_ : 0.0;
}

}  // namespace diffuse
