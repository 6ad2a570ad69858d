// What a benchmark figure depends on besides the code, recorded beside it by `diffuse bench`:
// device, dtype, threads, LibTorch version, CPU model and cores, the BLAS and OpenMP thread
// settings, the date and the machine's load (a shared machine's load moves every figure).
#pragma once

#include "apps/run/run_context.h"

#include <nlohmann/json.hpp>

namespace diffuse {

// {"device", "dtype", "threads", "libtorch", "diffuse", "cpu", "cores", "date",
//  "load_average", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", ...}.
nlohmann::json bench_environment(const RunContext& run);

// The 1, 5 and 15 minute load averages of /proc/loadavg (empty where there is none).
nlohmann::json load_average();

}  // namespace diffuse
