// Scratch files for tests: a fresh directory that is removed with its contents when it goes away.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace diffuse::testing {

// A fresh directory under the system temp folder, unique per process and object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` to `name` inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// A file's whole contents, bytes as they are ("" when it cannot be read).
std::string read_bytes(const std::string& path);

// A pid of no running process (a child that has exited and been reaped): the owner of a stale
// temporary file left by a killed run.
pid_t dead_pid();

}  // namespace diffuse::testing
