#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/errors.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

// The directory a relative bare file name lives in is the working directory.
fs::path parent_of(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// pid keeps two processes apart; the counter keeps two threads of one process apart.
std::string temporary_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Errors the user can fix by choosing another path or fixing permissions.
bool is_user_fixable(int error) {
  return error == EACCES || error == EPERM || error == EROFS || error == ENOENT ||
         error == ENOTDIR || error == EISDIR || error == ENAMETOOLONG;
}

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
  std::string message = "cannot write '" + path + "': " + what;
  if (error != 0) message += " (" + std::string(std::strerror(error)) + ")";
  if (is_user_fixable(error)) throw InputError(message);
  throw RuntimeFailure(message);
}

void check_target(const std::string& path) {
  require(!path.empty(), "cannot write a file with an empty path");
  std::error_code ec;
  const fs::path parent = parent_of(path);
  if (!fs::exists(parent, ec)) {
    throw InputError("cannot write '" + path + "': directory '" + parent.string() +
                     "' does not exist");
  }
  if (!fs::is_directory(parent, ec)) {
    throw InputError("cannot write '" + path + "': '" + parent.string() + "' is not a directory");
  }
  if (fs::is_directory(path, ec)) {
    throw InputError("cannot write '" + path + "': it is a directory");
  }
}

// The data must be on disk before the rename makes it visible, or a power cut could leave the
// new name pointing at an empty file.
int sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int result = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return result;
}

// Best effort: makes the rename itself durable; not every file system supports it.
void sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& writer) {
  check_target(path);
  const std::string temporary = temporary_name(path);
  auto discard = [&] { std::remove(temporary.c_str()); };

  errno = 0;
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  if (!out.is_open()) {
    const int error = errno;
    discard();
    fail(path, "cannot create temporary file '" + temporary + "'", error);
  }
  try {
    writer(out);
  } catch (...) {
    out.close();
    discard();
    throw;
  }
  errno = 0;
  out.flush();
  if (!out.good()) {
    const int error = errno;
    out.close();
    discard();
    fail(path, "write error (disk full?)", error == 0 ? EIO : error);
  }
  out.close();
  if (out.fail()) {
    const int error = errno;
    discard();
    fail(path, "error closing temporary file", error == 0 ? EIO : error);
  }
  if (const int error = sync_file(temporary); error != 0) {
    discard();
    fail(path, "cannot sync temporary file to disk", error);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    discard();
    fail(path, "cannot rename '" + temporary + "' onto it", error);
  }
  sync_directory(parent_of(path));
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&bytes](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

void ensure_parent_directory(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec || !fs::is_directory(parent, ec)) {
    throw InputError("cannot create directory '" + parent.string() + "' for '" + path + "'" +
                     (ec ? ": " + ec.message() : std::string(": not a directory")));
  }
}

}  // namespace diffuse
