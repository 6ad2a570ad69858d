// Inputs the loaders' fuzzers (tests/fuzz/, scripts/fuzz.sh) once failed on, kept under
// tests/data/fuzz/<loader>/ and replayed here: each must give a clean InputError (or load), in a
// child process whose data segment is capped at 4 GiB, so a loader that trusts a header's sizes
// and allocates what it declares fails here as it did under the fuzzer.
#include "core/base/errors.h"
#include "core/io/idx.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define DIFFUSE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIFFUSE_UNDER_ASAN 1
#endif
#endif

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> kept_inputs(const std::string& loader) {
  std::vector<fs::path> files;
  const fs::path folder = fs::path(DIFFUSE_SOURCE_DIR) / "tests" / "data" / "fuzz" / loader;
  if (fs::is_directory(folder))
    for (const auto& entry : fs::directory_iterator(folder)) files.push_back(entry.path());
  return files;
}

// Exit status of `load` in a child: 0 for success or an InputError, 1 for anything else.
int status_of(const std::function<void()>& load) {
  const pid_t child = ::fork();
  if (child == 0) {
#ifndef DIFFUSE_UNDER_ASAN
    // (Not under AddressSanitizer, whose own shadow mappings the cap would refuse.)
    const rlimit cap{rlim_t{4} << 30, rlim_t{4} << 30};
    ::setrlimit(RLIMIT_DATA, &cap);
#endif
    int code = 0;
    try {
      load();
    } catch (const InputError&) {
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(FuzzRegressions, KeptIdxInputsGiveACleanError) {
  const auto files = kept_inputs("idx");
  EXPECT_FALSE(files.empty());
  for (const auto& file : files) {
    EXPECT_EQ(status_of([&] { read_idx_images(file.string()); }), 0) << file;
    EXPECT_EQ(status_of([&] { read_idx_labels(file.string()); }), 0) << file;
  }
}

}  // namespace
}  // namespace diffuse::testing
