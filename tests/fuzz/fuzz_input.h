// Shared by the libFuzzer targets of the file loaders (scripts/fuzz.sh): the loaders read
// paths, so each input is written to a file of its own first. An InputError is the loader doing
// its job (a clear message for a bad file); any other exception, a crash, a sanitizer report, a
// hang or a runaway allocation is a finding.
#pragma once

#include "core/base/errors.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace diffuse::fuzz {

// The input's bytes in a file named like a real one (`name` gives the extension or file name),
// under a folder of this process's own.
inline std::string write_input(const std::uint8_t* data, std::size_t size,
                               const std::string& name) {
  static const std::string folder = [] {
    std::string path = "/tmp/diffuse-fuzz-" + std::to_string(::getpid());
    ::mkdir(path.c_str(), 0700);
    return path;
  }();
  const std::string path = folder + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Runs `load`, accepting a clean InputError.
template <class Load>
int expect_clean(Load&& load) {
  try {
    load();
  } catch (const InputError&) {
  }
  return 0;
}

}  // namespace diffuse::fuzz
