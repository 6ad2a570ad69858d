#include "samplers/exponential.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace diffuse {

double exp_phi(int k, double z) {
  if (k < 1 || k > 3) throw std::invalid_argument("exp_phi: k must be 1, 2 or 3, got " +
                                                  std::to_string(k));
  // Near 0 the closed forms lose about log10(k! / |z|^(k-1)) digits to cancellation; the series
  // sum_j z^j / (j + k)! has converged to double precision after 20 terms for |z| < 1/2.
  if (std::abs(z) < 0.5) {
    double term = 1.0;  // z^j / (j + k)!, starting at j = 0
    for (int i = 2; i <= k; ++i) term /= i;
    double sum = 0.0;
    for (int j = 0; j < 20; ++j) {
      sum += term;
      term *= z / (j + k + 1);
    }
    return sum;
  }
  const double e = std::expm1(z);
  if (k == 1) return e / z;
  if (k == 2) return (e - z) / (z * z);
  return (e - z - 0.5 * z * z) / (z * z * z);
}

}  // namespace diffuse
