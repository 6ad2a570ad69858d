// Error kinds, mapped to exit codes by the `diffuse` command: a user can fix an InputError
// (a bad option, config, file or checkpoint: exit 2); a RuntimeFailure is the run itself going
// wrong (a NaN loss, a full disk: exit 1). The library throws, it never calls exit().
#pragma once

#include <stdexcept>
#include <string>

namespace diffuse {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RuntimeFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws InputError(message) unless `condition` holds.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw InputError(message);
}

}  // namespace diffuse
