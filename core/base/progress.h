// Progress of long work. On a terminal: one redrawn line with a bar, the rate and the ETA. In a
// log (not a terminal): a plain line every `log_every_seconds` and at the end, so CI logs and
// `tee` stay readable.
//
//   Progress progress("sample", total_batches, "batch");
//   for (...) { ...; progress.advance(); }
//   progress.finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace diffuse {

class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit = "it",
           std::FILE* stream = stderr, double log_every_seconds = 10.0);
  ~Progress();

  void advance(std::int64_t count = 1);
  // Extra text after the rate, e.g. "loss 0.231" (shown on the next redraw).
  void set_note(std::string note) { note_ = std::move(note); }
  void finish();

  // False when the output is not a terminal or DIFFUSE_QUIET is set.
  bool interactive() const { return interactive_; }

 private:
  void draw(bool final_line);
  double elapsed_seconds() const;

  std::string label_, unit_, note_;
  std::int64_t total_, done_ = 0;
  std::FILE* stream_;
  bool interactive_, finished_ = false;
  double log_every_seconds_, last_draw_ = -1.0;
  std::chrono::steady_clock::time_point start_;
};

// "1m05s", "3.2s", "2h01m".
std::string format_duration(double seconds);

}  // namespace diffuse
