#include "apps/run/run_context.h"

#include "core/base/precision.h"
#include "core/base/runtime.h"
#include "core/io/atomic_file.h"

#include <filesystem>
#include <iostream>

namespace diffuse {

RunContext set_up_run(const RunConfig& config) {
  set_threads(config.threads);
  const std::string warning = reference_blas_warning();
  if (!warning.empty()) std::cerr << warning << "\n";
  RunContext context;
  context.device = parse_device(config.device);
  context.dtype = parse_dtype(config.dtype);
  set_precision(parse_precision(config.precision), context.dtype);
  torch::manual_seed(static_cast<std::uint64_t>(config.seed));
  return context;
}

void save_config(const RunConfig& config, const std::string& path) {
  ensure_parent_directory(path);
  write_file_atomically(path, "# resolved diffuse config\n" + config::to_yaml(config));
}

std::string sibling_path(const std::string& path, const std::string& suffix) {
  std::filesystem::path p(path);
  return (p.parent_path() / p.stem()).string() + suffix;
}

}  // namespace diffuse
