// libFuzzer target: arbitrary bytes as a .npy file (core/io/npy.h).
#include "core/io/npy.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = diffuse::fuzz::write_input(data, size, "input.npy");
  return diffuse::fuzz::expect_clean([&] { diffuse::load_npy(path); });
}
