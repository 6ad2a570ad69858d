// JSON Lines logs (metrics, training progress): one JSON object per line.
//
// Usage:
//   diffuse::JsonlWriter log("run/train.jsonl");          // appends; creates the file if missing
//   log.write({{"step", 100}, {"loss", 0.25}});            // one line, flushed at once
//   for (const nlohmann::json& row : diffuse::read_jsonl("run/train.jsonl")) { ... }
//
// Each record is flushed as a whole line, so a crash leaves at most one partial line at the end;
// reopening such a file starts a fresh line rather than gluing onto the partial one. NaN and
// infinities are written as null (JSON has no such numbers).
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace diffuse {

class JsonlWriter {
 public:
  // Opens `path` for appending (`truncate`: start empty). InputError if it cannot be opened.
  explicit JsonlWriter(const std::string& path, bool truncate = false);

  // Appends `record`, which must be a JSON object, as one line and flushes it.
  // RuntimeFailure if the write fails (full disk).
  void write(const nlohmann::json& record);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// Reads every object of a JSON Lines file; blank lines are skipped. InputError naming the file
// and line number for a line that is not valid JSON or not an object, or a missing file.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

}  // namespace diffuse
