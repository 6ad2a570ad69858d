// UniPC (Zhao, Bai, Rao, Zhou, Lu 2023, Alg. 2-3, data prediction): the UniP-p predictor and the
// UniC-p corrector, formulas and orders in samplers/unipc.h.
#include "samplers/unipc.h"

#include "core/base/errors.h"
#include "core/math/numerics.h"
#include "samplers/families.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace diffuse {

namespace {

constexpr int kMaxOrder = 3;

// rho solving R rho = b in the first n rows and columns, R_ik = r_k^i (paper eq. 8).
std::vector<double> solve_rho(const std::vector<double>& r, const std::vector<double>& b, int n) {
  std::vector<std::vector<double>> matrix(n, std::vector<double>(n));
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) matrix[i][k] = std::pow(r[k], i);
  return solve_dense(std::move(matrix), std::vector<double>(b.begin(), b.begin() + n));
}

}  // namespace

torch::Tensor sample_unipc(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                           const MultistepOptions& options, const std::string& variant,
                           int order) {
  require(variant == "bh1" || variant == "bh2",
          "unipc: unknown B(h) variant '" + variant + "'; expected bh1 or bh2");
  require(order >= 1 && order <= kMaxOrder, "unipc: order must be 1, 2 or 3");
  const auto& process = denoiser.process();
  const int steps = static_cast<int>(times.size()) - 1;
  std::vector<double> lambda;
  for (double t : times) lambda.push_back(process.lambda(t));
  std::array<torch::Tensor, kMaxOrder> m;  // m[0] the newest data prediction, m[1], m[2] older
  m[0] = denoiser.x0(x, times[0]);
  for (int i = 0; i < steps; ++i) {
    const int p = multistep_order(order, i, steps, options.lower_order_final);
    const double h = lambda[i + 1] - lambda[i], hh = -h;
    const double b_h = variant == "bh2" ? std::expm1(hh) : hh;
    // r_k = (lambda_k - lambda_s) / h, r_p = 1;  b_i = (-h) phi_{i+1}(-h) i! / B(h)
    std::vector<double> r(p), b(p);
    for (int k = 1; k < p; ++k) r[k - 1] = (lambda[i - k] - lambda[i]) / h;
    r[p - 1] = 1.0;
    double factorial = 1.0;
    for (int row = 0; row < p; ++row) {
      factorial *= row + 1;
      b[row] = hh * exp_phi(row + 2, hh) * factorial / b_h;
    }
    const auto rho_p = p == 3 ? solve_rho(r, b, 2) : std::vector<double>{0.5};  // p = 1: none
    const auto rho_c = p == 1 ? std::vector<double>{0.5} : solve_rho(r, b, p);
    const double alpha_t = process.alpha(times[i + 1]), scale = -alpha_t * b_h;
    const auto base = process.sigma(times[i + 1]) / process.sigma(times[i]) * x +
                      -alpha_t * std::expm1(hh) * m[0];
    auto predicted = base;  // UniP-p, with D_k = (m_k - m_0) / r_k
    for (int k = 1; k < p; ++k)
      predicted = predicted + scale * rho_p[k - 1] / r[k - 1] * (m[k] - m[0]);
    if (i + 1 == steps) return predicted;                   // no corrector after the last step
    const auto m_t = denoiser.x0(predicted, times[i + 1]);  // the next step's m_0
    x = base + scale * rho_c[p - 1] * (m_t - m[0]);         // UniC-p
    for (int k = 1; k < p; ++k) x = x + scale * rho_c[k - 1] / r[k - 1] * (m[k] - m[0]);
    m = {m_t, m[0], m[1]};
  }
  return x;
}

std::vector<SamplerInfo> unipc_samplers() {
  std::vector<SamplerInfo> rows;
  for (const std::string variant : {"bh1", "bh2"})
    for (int order = 1; order <= kMaxOrder; ++order) {
      const auto sample = SampleFunction::of<MultistepOptions>(
          [variant, order](const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                           NoiseSource&, const MultistepOptions& options) {
            return sample_unipc(denoiser, std::move(x), times, options, variant, order);
          });
      const auto name = std::to_string(order);
      // UniC raises UniP-p to order p + 1; the order-2 warm-up step caps p = 3 at 3.
      rows.push_back({"unipc-" + variant + "-" + name,
                      "UniPC-" + name + " " + variant +
                          ", data prediction, predictor-corrector (Zhao et al. 2023)",
                      std::min(order + 1, 3),
                      false,
                      evaluations_per_step(1),
                      {},
                      sample});
    }
  return rows;
}

}  // namespace diffuse
