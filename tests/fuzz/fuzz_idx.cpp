// libFuzzer target: arbitrary bytes as an MNIST-format IDX images file and as a labels file
// (core/io/idx.h).
#include "core/io/idx.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = diffuse::fuzz::write_input(data, size, "train-images-idx3-ubyte");
  diffuse::fuzz::expect_clean([&] { diffuse::read_idx_images(path); });
  return diffuse::fuzz::expect_clean([&] { diffuse::read_idx_labels(path); });
}
