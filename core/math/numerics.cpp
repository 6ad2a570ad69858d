#include "core/math/numerics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace diffuse {

double exp_phi(int k, double z) {
  if (k < 0) throw std::invalid_argument("exp_phi: k must be >= 0, got " + std::to_string(k));
  if (std::abs(z) < 1.0) {
    // The series: its terms fall by |z| / (j + k + 1) < 1/2 from j = 1 on, so 40 terms reach
    // double precision for every k; the recursion would lose about k log10(1/|z|) digits here.
    double term = 1.0;  // z^j / (j + k)!, starting at j = 0
    for (int i = 2; i <= k; ++i) term /= i;
    double sum = 0.0;
    for (int j = 0; j < 40; ++j) {
      sum += term;
      term *= z / (j + k + 1);
    }
    return sum;
  }
  if (k == 0) return std::exp(z);
  double value = std::expm1(z) / z;  // phi_1
  double factorial = 1.0;            // (j - 1)! for the step to phi_j
  for (int j = 2; j <= k; ++j) {
    factorial *= j - 1;
    value = (value - 1.0 / factorial) / z;
  }
  return value;
}

torch::Tensor exp_phi(int k, const torch::Tensor& z) {
  if (k < 0) throw std::invalid_argument("exp_phi: k must be >= 0, got " + std::to_string(k));
  double first = 1.0;  // 1 / k!
  for (int i = 2; i <= k; ++i) first /= i;
  auto term = torch::full_like(z, first), series = torch::zeros_like(z);
  for (int j = 0; j < 40; ++j) {
    series = series + term;
    term = term * (z / (j + k + 1));
  }
  // The recursion from expm1, where |z| >= 1 (z replaced by 1 inside |z| < 1 to avoid 0 / 0).
  const auto small = z.abs() < 1.0;
  const auto w = torch::where(small, torch::ones_like(z), z);
  auto recursion = k == 0 ? torch::exp(w) : torch::expm1(w) / w;
  double factorial = 1.0;
  for (int j = 2; j <= k; ++j) {
    factorial *= j - 1;
    recursion = (recursion - 1.0 / factorial) / w;
  }
  return torch::where(small, series, recursion);
}

torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<std::int64_t> shape(like.dim(), 1);
  shape[0] = like.size(0);
  return v.reshape(shape).to(like.dtype());
}

std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int multistep_order(int order, int i, int steps, bool lower_order_final) {
  int q = std::min(order, i + 1);
  if (lower_order_final && steps < 10) q = std::min(q, steps - i);
  return q;
}

std::vector<double> solve_dense(std::vector<std::vector<double>> a, std::vector<double> b) {
  const std::size_t n = b.size();
  const auto has_n = [n](const std::vector<double>& row) { return row.size() == n; };
  const bool square = a.size() == n && std::all_of(a.begin(), a.end(), has_n);
  if (!square)
    throw std::invalid_argument("solve_dense: a must be " + std::to_string(n) + " x " +
                                std::to_string(n) + ", like b's size");
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t row = col + 1; row < n; ++row)
      if (std::abs(a[row][col]) > std::abs(a[pivot][col])) pivot = row;
    if (a[pivot][col] == 0.0) throw std::invalid_argument("solve_dense: a is singular");
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (std::size_t row = col + 1; row < n; ++row) {
      const double f = a[row][col] / a[col][col];
      for (std::size_t k = col; k < n; ++k) a[row][k] -= f * a[col][k];
      b[row] -= f * b[col];
    }
  }
  std::vector<double> x(n);
  for (std::size_t row = n; row-- > 0;) {
    double sum = b[row];
    for (std::size_t k = row + 1; k < n; ++k) sum -= a[row][k] * x[k];
    x[row] = sum / a[row][row];
  }
  return x;
}

}  // namespace diffuse
