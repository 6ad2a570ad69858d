// Each sampler family file contributes its registry rows through one function; registry.cpp
// concatenates them in this order. Adding a family: declare its function here, define it in the
// family's file, add the call in registry.cpp.
#pragma once

#include "samplers/sampler.h"

#include <vector>

namespace diffuse {

std::vector<SamplerInfo> ode_samplers();  // samplers/ode.cpp
std::vector<SamplerInfo> dpm_solver_samplers();  // samplers/dpm_solver.cpp
std::vector<SamplerInfo> ddpm_samplers();  // samplers/ddpm.cpp
std::vector<SamplerInfo> sde_samplers();  // samplers/sde.cpp
std::vector<SamplerInfo> rk45_samplers();  // samplers/rk45.cpp
std::vector<SamplerInfo> accelerated_samplers();  // samplers/accelerated.cpp
std::vector<SamplerInfo> unipc_samplers();  // samplers/unipc.cpp
std::vector<SamplerInfo> srk_samplers();  // samplers/srk.cpp
std::vector<SamplerInfo> consistency_samplers();  // samplers/consistency.cpp

}  // namespace diffuse
