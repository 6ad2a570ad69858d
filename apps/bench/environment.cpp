#include "apps/bench/environment.h"

#include "core/base/compat.h"
#include "core/base/precision.h"
#include "core/base/runtime.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

namespace diffuse {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

nlohmann::json environment_variable(const char* name) {
  const char* value = std::getenv(name);
  return value ? nlohmann::json(value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0.0, five = 0.0, fifteen = 0.0;
  if (!(in >> one >> five >> fifteen)) return nlohmann::json::array();
  return {one, five, fifteen};
}

nlohmann::json bench_environment(const RunContext& run) {
  nlohmann::json env = {{"device", run.device.str()},
                        {"dtype", dtype_name(run.dtype)},
                        {"precision", precision_name(current_precision())},
                        {"threads", at::get_num_threads()},
                        {"libtorch", compat::torch_version()},
                        {"diffuse", DIFFUSE_VERSION},
                        {"cpu", cpu_model()},
                        {"cores", std::thread::hardware_concurrency()},
                        {"date", utc_now()},
                        {"load_average", load_average()}};
  for (const char* name : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"})
    env[name] = environment_variable(name);
  const std::string blas = reference_blas_warning();
  if (!blas.empty()) env["blas_warning"] = blas;
  return env;
}

}  // namespace diffuse
