// libFuzzer target: arbitrary bytes as a YAML run config, read and validated as the commands
// do (core/base/config.h, apps/run/run_config.h), then the data section resolved for its kind.
#include "apps/run/run_config.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = diffuse::fuzz::write_input(data, size, "config.yaml");
  return diffuse::fuzz::expect_clean([&] {
    using namespace diffuse;
    const auto run = config::load<RunConfig>(config::read_file(path));
    resolve_data_config(run.data);
  });
}
