// libFuzzer target: arbitrary bytes as a checkpoint, loaded as `sample --model` loads one
// (models/checkpoint.h): the zip container's checks, the header, the config, the weights.
#include "models/checkpoint.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = diffuse::fuzz::write_input(data, size, "checkpoint.pt");
  return diffuse::fuzz::expect_clean([&] {
    diffuse::load_model(path, torch::TensorOptions().dtype(torch::kFloat32));
  });
}
