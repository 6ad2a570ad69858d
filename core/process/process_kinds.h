// Constructors of the concrete forward processes (the process table of docs/design.md), used by
// make_process.
// Each checks its own time range and throws InputError naming the offending field.
#pragma once

#include "core/process/process.h"

#include <vector>

namespace diffuse {

ProcessPtr make_vp_linear(double beta_min, double beta_max, double t_min, double t_max);
ProcessPtr make_vp_cosine(double s, double t_min, double t_max);
ProcessPtr make_vp_ou(double t_min, double t_max);
ProcessPtr make_ddpm(double beta_1, double beta_n, int n, double t_min, double t_max);
ProcessPtr make_ddpm_theory(int n, double c0, double c1, double t_min, double t_max);
ProcessPtr make_ve(double t_min, double t_max);
ProcessPtr make_ve_geometric(double sigma_min, double sigma_max, double t_min, double t_max);
ProcessPtr make_edm(double t_min, double t_max);
ProcessPtr make_rf(double t_min, double t_max);

// The alpha-bar sequence abar_1..abar_N of the convergence theory's schedule (Li, Wei, Chen,
// Chi): 1 - alpha_1 = N^-c0,
// 1 - alpha_t = (c1 log N / N) min{(1 - alpha_1)(1 + c1 log N / N)^t, 1}.
std::vector<double> ddpm_theory_alpha_bar(int n, double c0, double c1);

// Throws InputError unless low < t_min < t_max <= high (t_min = low allowed when inclusive).
void check_time_range(const char* kind, double t_min, double t_max, double low, double high,
                      bool low_inclusive = false);

}  // namespace diffuse
