// The phi functions of exponential integrators (Hochbruck & Ostermann 2010, eq. 2.10), shared by
// the samplers that integrate the linear part of the diffusion ODE exactly (DPM-Solver, DEIS,
// UniPC):
//
//   phi_1(z) = (e^z - 1) / z,   phi_2(z) = (e^z - 1 - z) / z^2,
//   phi_3(z) = (e^z - 1 - z - z^2/2) / z^3,
//
// so that int_0^h e^{-(h-u)} u^k / k! du = h^{k+1} phi_{k+1}(-h). Computed on the host in double:
// closed forms with expm1 away from 0, Taylor series near 0 (where the closed forms cancel).
//
//   const double c = h * exp_phi(1, -h);   // = -expm1(-h), DPM-Solver++'s first-order weight
#pragma once

namespace diffuse {

// phi_k(z) for k = 1, 2, 3 (phi_k(0) = 1/k!); std::invalid_argument for another k.
double exp_phi(int k, double z);

}  // namespace diffuse
