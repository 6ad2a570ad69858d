// Runs the real `diffuse` binary for command-line tests and captures its exit code and output.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace diffuse::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `diffuse <arguments>` through the shell (arguments are passed as written).
CommandResult run_diffuse(const std::string& arguments);

// The JSON object a command printed last (stderr's progress lines come before it); null if none.
nlohmann::json last_json(const std::string& output);

// A file's whole contents ("" when it cannot be read).
std::string read_bytes(const std::string& path);

// A fresh directory under the system temp folder, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` to `name` inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

}  // namespace diffuse::testing
