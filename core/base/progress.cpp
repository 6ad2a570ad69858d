#include "core/base/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>

namespace diffuse {

std::string format_duration(double seconds) {
  char text[32];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) {
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  } else if (seconds < 3600) {
    const int s = static_cast<int>(seconds);
    std::snprintf(text, sizeof text, "%dm%02ds", s / 60, s % 60);
  } else {
    const int m = static_cast<int>(seconds / 60);
    std::snprintf(text, sizeof text, "%dh%02dm", m / 60, m % 60);
  }
  return text;
}

Progress::Progress(std::string label, std::int64_t total, std::string unit, std::FILE* stream,
                   double log_every_seconds)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      stream_(stream),
      interactive_(isatty(fileno(stream)) && std::getenv("DIFFUSE_QUIET") == nullptr),
      log_every_seconds_(log_every_seconds),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(std::int64_t count) {
  done_ += count;
  const double now = elapsed_seconds();
  // Redraw a terminal at most 10 times a second; write a log line every log_every_seconds.
  const double interval = interactive_ ? 0.1 : log_every_seconds_;
  if (last_draw_ < 0 ? now >= interval : now - last_draw_ >= interval) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final_line) {
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - done_) / rate : NAN;
  const double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  char stats[160];
  std::snprintf(stats, sizeof stats, "%lld/%lld %s, %.1f %s/s, %s %s",
                static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(),
                rate, unit_.c_str(), final_line ? "took" : "eta",
                format_duration(final_line ? elapsed : eta).c_str());
  const std::string note = note_.empty() ? "" : ", " + note_;
  if (interactive_) {
    constexpr int width = 24;
    const int filled = static_cast<int>(std::lround(fraction * width));
    std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    std::fprintf(stream_, "\r\033[K%s [%s] %3.0f%% %s%s", label_.c_str(), bar.c_str(),
                 100 * fraction, stats, note.c_str());
    if (final_line) std::fputc('\n', stream_);
  } else {
    std::fprintf(stream_, "%s: %3.0f%% %s%s\n", label_.c_str(), 100 * fraction, stats,
                 note.c_str());
  }
  std::fflush(stream_);
}

}  // namespace diffuse
