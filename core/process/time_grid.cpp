// Time grids (docs/design.md "Interfaces"): descending times with both endpoints exact. Grids in a
// variable other than t (lambda, s^(1/rho)) are built in that variable on the host in float64
// and mapped back through the process's t_of_lambda, so they work for every process.
#include "core/process/time_grid.h"

#include "core/base/errors.h"
#include "core/base/format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>

namespace diffuse {

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

void check_steps_and_ends(const char* kind, double t_start, double t_end, int steps) {
  const std::string where = std::string("time grid '") + kind + "': ";
  require(steps >= 1, where + "steps must be >= 1, got " + std::to_string(steps));
  require(std::isfinite(t_start) && std::isfinite(t_end) && t_end < t_start,
          where + "needs t_end < t_start, got t_start = " + format_number(t_start) +
              ", t_end = " + format_number(t_end));
}

// The invariant every grid keeps; it fails only when K is so large that neighbouring points
// collide in float64 (or a process's t_of_lambda is broken).
void check_decreasing(const char* kind, const std::vector<double>& grid) {
  for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
    if (std::isfinite(grid[k + 1]) && grid[k + 1] < grid[k]) continue;
    throw InputError(std::string("time grid '") + kind + "' with " +
                     std::to_string(grid.size() - 1) + " steps is not strictly decreasing at " +
                     "index " + std::to_string(k + 1) + " (t = " + format_number(grid[k]) + ", then " +
                     format_number(grid[k + 1]) + "); use fewer steps");
  }
}

// lambda at an endpoint, which must be finite for grids built in lambda.
double finite_lambda(const char* kind, const ForwardProcess& process, double t, const char* end) {
  const double lambda = process.lambda(t);
  require(std::isfinite(lambda),
          std::string("time grid '") + kind + "': lambda = log(alpha / sigma) of process '" +
              process.name() + "' is infinite at " + end + " = " + format_number(t) +
              " (alpha or sigma is 0 there); move " + end + " inside or use kind uniform");
  return lambda;
}

// Maps lambda_0..lambda_K to times, pinning both endpoints to the exact values given.
std::vector<double> times_of_lambdas(const ForwardProcess& process,
                                     const std::vector<double>& lambdas, double t_start,
                                     double t_end) {
  const auto t = process.t_of_lambda(torch::tensor(lambdas, torch::kFloat64)).contiguous();
  std::vector<double> grid(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  grid.front() = t_start;
  grid.back() = t_end;
  return grid;
}

// One row per grid kind (a table, not a switch).
struct GridKind {
  const char* name;
  std::function<std::vector<double>(const ForwardProcess&, double, double,
                                    const TimeGridConfig&)>
      build;
};

const std::vector<GridKind>& grid_table() {
  static const std::vector<GridKind> table = {
      {"uniform",
       [](const ForwardProcess&, double s, double e, const TimeGridConfig& c) {
         return uniform_grid(s, e, c.steps);
       }},
      {"logsnr",
       [](const ForwardProcess& p, double s, double e, const TimeGridConfig& c) {
         return logsnr_grid(p, s, e, c.steps);
       }},
      {"quadratic",
       [](const ForwardProcess&, double s, double e, const TimeGridConfig& c) {
         return quadratic_grid(s, e, c.steps);
       }},
      {"karras",
       [](const ForwardProcess& p, double s, double e, const TimeGridConfig& c) {
         return karras_grid(p, s, e, c.steps, c.rho);
       }},
      {"ddpm",
       [](const ForwardProcess& p, double s, double e, const TimeGridConfig& c) {
         return ddpm_grid(p, s, e, c.steps, c.spacing);
       }},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& time_grid_kinds() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& row : grid_table()) out.emplace_back(row.name);
    return out;
  }();
  return names;
}

const std::vector<std::string>& ddpm_spacings() {
  static const std::vector<std::string> names = {"even", "leading", "trailing"};
  return names;
}

std::vector<double> uniform_grid(double t_start, double t_end, int steps) {
  check_steps_and_ends("uniform", t_start, t_end, steps);
  std::vector<double> grid(steps + 1);
  for (int k = 0; k <= steps; ++k) grid[k] = t_start + (t_end - t_start) * (double(k) / steps);
  grid.back() = t_end;
  check_decreasing("uniform", grid);
  return grid;
}

std::vector<double> quadratic_grid(double t_start, double t_end, int steps) {
  // DDIM's "quad" skips: uniform in sqrt(t), squared, so steps are finer near t_end.
  check_steps_and_ends("quadratic", t_start, t_end, steps);
  require(t_end >= 0.0, "time grid 'quadratic': needs t_end >= 0, got " + format_number(t_end));
  const double a = std::sqrt(t_start), b = std::sqrt(t_end);
  std::vector<double> grid(steps + 1);
  for (int k = 0; k <= steps; ++k) {
    const double r = a + (b - a) * (double(k) / steps);
    grid[k] = r * r;
  }
  grid.front() = t_start;
  grid.back() = t_end;
  check_decreasing("quadratic", grid);
  return grid;
}

std::vector<double> logsnr_grid(const ForwardProcess& process, double t_start, double t_end,
                                int steps) {
  // DPM-Solver's logSNR steps: lambda_k = lambda_T + k/K (lambda_eps - lambda_T).
  check_steps_and_ends("logsnr", t_start, t_end, steps);
  const double l0 = finite_lambda("logsnr", process, t_start, "t_start");
  const double l1 = finite_lambda("logsnr", process, t_end, "t_end");
  std::vector<double> lambdas(steps + 1);
  for (int k = 0; k <= steps; ++k) lambdas[k] = l0 + (l1 - l0) * (double(k) / steps);
  auto grid = times_of_lambdas(process, lambdas, t_start, t_end);
  check_decreasing("logsnr", grid);
  return grid;
}

std::vector<double> karras_grid(const ForwardProcess& process, double t_start, double t_end,
                                int steps, double rho) {
  // EDM eq. 5: s_k = (s_max^(1/rho) + k/K (s_min^(1/rho) - s_max^(1/rho)))^rho, s = e^-lambda;
  // s^(1/rho) = exp(-lambda / rho) and back lambda = -rho log(.) avoid overflowing s itself.
  check_steps_and_ends("karras", t_start, t_end, steps);
  require(rho > 0.0 && std::isfinite(rho),
          "time grid 'karras': rho must be > 0, got " + format_number(rho));
  const double a = std::exp(-finite_lambda("karras", process, t_start, "t_start") / rho);
  const double b = std::exp(-finite_lambda("karras", process, t_end, "t_end") / rho);
  std::vector<double> lambdas(steps + 1);
  for (int k = 0; k <= steps; ++k) lambdas[k] = -rho * std::log(a + (b - a) * (double(k) / steps));
  auto grid = times_of_lambdas(process, lambdas, t_start, t_end);
  check_decreasing("karras", grid);
  return grid;
}

std::vector<double> ddpm_grid(const ForwardProcess& process, double t_start, double t_end,
                              int steps, const std::string& spacing) {
  check_steps_and_ends("ddpm", t_start, t_end, steps);
  const auto n = process.num_discrete_steps();
  require(n.has_value(), "time grid 'ddpm' needs a discrete process (ddpm, ddpm-theory) with "
                         "knots t = i/N; process '" + process.name() +
                             "' is continuous: use kind uniform, logsnr, quadratic or karras");
  const auto& spacings = ddpm_spacings();
  require(std::find(spacings.begin(), spacings.end(), spacing) != spacings.end(),
          "time grid 'ddpm': spacing = '" + spacing + "': expected one of: " + joined(spacings));
  const double big_n = *n;
  const auto knot = [&](double t, const char* end) {
    const double i = std::round(t * big_n);
    require(std::abs(t * big_n - i) <= 1e-9 * big_n && i >= 1 && i <= big_n,
            std::string("time grid 'ddpm': ") + end + " = " + format_number(t) +
                " is not a knot i/N (i = 1..N) of process '" + process.name() +
                "' (N = " + std::to_string(*n) + ")");
    return static_cast<std::int64_t>(i);
  };
  const std::int64_t i_start = knot(t_start, "t_start"), i_end = knot(t_end, "t_end");
  const std::int64_t d = i_start - i_end, big_k = steps;
  require(big_k <= d, "time grid 'ddpm': " + std::to_string(steps) + " steps, but only " +
                          std::to_string(d) + " knot intervals lie between t_start and t_end " +
                          "(at most " + std::to_string(d) + " steps, which takes every knot)");

  // Knot indices, descending; c is DDIM's integer stride.
  std::vector<std::int64_t> index(steps + 1);
  const std::int64_t c = d / big_k;
  for (std::int64_t k = 0; k <= big_k; ++k) {
    if (spacing == "even")
      index[k] = i_end + (2 * (big_k - k) * d + big_k) / (2 * big_k);  // round((K-k) D / K)
    else if (spacing == "trailing")
      index[k] = k < big_k ? i_start - k * c : i_end;
    else  // leading
      index[k] = k > 0 ? i_end + (big_k - k) * c : i_start;
  }
  std::vector<double> grid(steps + 1);
  for (int k = 0; k <= steps; ++k) grid[k] = double(index[k]) / big_n;
  grid.front() = t_start;
  grid.back() = t_end;
  check_decreasing("ddpm", grid);
  return grid;
}

std::vector<double> make_time_grid(const ForwardProcess& process, const TimeGridConfig& config) {
  const auto& table = grid_table();
  const auto row = std::find_if(table.begin(), table.end(),
                                [&](const GridKind& r) { return config.kind == r.name; });
  require(row != table.end(), "time grid: kind = '" + config.kind +
                                  "': expected one of: " + joined(time_grid_kinds()));
  const double t_start = config.t_start.value_or(process.t_max());
  const double t_end = config.t_end.value_or(process.t_min());
  const std::string where = "time grid '" + config.kind + "': ";
  require(config.steps >= 1, where + "steps must be >= 1, got " + std::to_string(config.steps));
  require(t_end < t_start, where + "needs t_end < t_start, got t_start = " + format_number(t_start) +
                               ", t_end = " + format_number(t_end));
  require(process.t_min() <= t_end && t_start <= process.t_max(),
          where + "t_start = " + format_number(t_start) + " and t_end = " + format_number(t_end) +
              " must lie in [t_min, t_max] = [" + format_number(process.t_min()) + ", " +
              format_number(process.t_max()) + "] of process '" + process.name() + "'");
  return row->build(process, t_start, t_end, config);
}

}  // namespace diffuse
