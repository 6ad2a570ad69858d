#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <system_error>

#include "core/base/errors.h"

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

// The writer's pid when `name` is `<target>.tmp-<pid>-<counter>` (temporary_name's form), else 0.
pid_t writer_of(const std::string& name, const std::string& target) {
  const std::string prefix = target + ".tmp-";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string rest = name.substr(prefix.size());
  const auto dash = rest.find('-');
  if (dash == 0 || dash == std::string::npos || dash + 1 == rest.size() || dash > 9) return 0;
  for (std::size_t i = 0; i < rest.size(); ++i)
    if (i != dash && (rest[i] < '0' || rest[i] > '9')) return 0;
  const long long pid = std::stoll(rest.substr(0, dash));
  return pid > 0 && pid <= INT_MAX ? static_cast<pid_t>(pid) : 0;
}

bool process_is_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Once per target and process: a directory of many files is not listed on every write.
bool first_write_of(const std::string& path) {
  static std::mutex mutex;
  static std::set<std::string> seen;
  std::error_code ec;
  const fs::path key = fs::weakly_canonical(fs::absolute(path, ec), ec);
  std::lock_guard<std::mutex> lock(mutex);
  return seen.insert(ec ? path : key.string()).second;
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

void remove_stale_temporaries(const std::string& path) {
  const std::string target = fs::path(path).filename().string();
  if (target.empty()) return;
  std::error_code ec;
  for (fs::directory_iterator it(parent_of(path), ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = writer_of(it->path().filename().string(), target);
    // Our own pid may be another thread writing now; a live or unknown pid may be writing now.
    if (pid == 0 || pid == ::getpid() || !process_is_gone(pid)) continue;
    std::error_code ignored;
    if (it->is_regular_file(ignored)) fs::remove(it->path(), ignored);
  }
}

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& writer) {
  check_target(path);
  if (first_write_of(path)) remove_stale_temporaries(path);
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
