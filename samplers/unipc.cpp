#include "samplers/unipc.h"

#include "core/errors.h"
#include "core/numerics.h"
#include "samplers/families.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace diffuse {

namespace {

constexpr int kMaxOrder = 3;

// Solves the n x n system R rho = b (n <= 3) by Gaussian elimination with partial pivoting.
std::array<double, kMaxOrder> solve(std::array<std::array<double, kMaxOrder>, kMaxOrder> r,
                                    std::array<double, kMaxOrder> b, int n) {
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int row = col + 1; row < n; ++row)
      if (std::abs(r[row][col]) > std::abs(r[pivot][col])) pivot = row;
    std::swap(r[col], r[pivot]);
    std::swap(b[col], b[pivot]);
    for (int row = col + 1; row < n; ++row) {
      const double m = r[row][col] / r[col][col];
      for (int k = col; k < n; ++k) r[row][k] -= m * r[col][k];
      b[row] -= m * b[col];
    }
  }
  std::array<double, kMaxOrder> x{};
  for (int row = n - 1; row >= 0; --row) {
    double sum = b[row];
    for (int k = row + 1; k < n; ++k) sum -= r[row][k] * x[k];
    x[row] = sum / r[row][row];
  }
  return x;
}

// Host coefficients of one step, as weights on x, m_0 and the differences m_k - m_0.
struct Step {
  double x_gain = 0.0;                        // sigma_t / sigma_s
  double m0_gain = 0.0;                       // -alpha_t (e^{-h} - 1)
  std::array<double, kMaxOrder - 1> pred{};   // on m_k - m_0, k = 1, 2 (UniP)
  std::array<double, kMaxOrder - 1> corr{};   // on m_k - m_0 (UniC)
  double corr_new = 0.0;                      // on m_t - m_0 (UniC)
  bool correct = false;
};

}  // namespace

// Zhao et al. 2023, UniPC (Alg. 2-3, data prediction): UniP-p predictor, UniC-p corrector.
torch::Tensor sample_unipc(const Denoiser& denoiser, torch::Tensor x,
                           const std::vector<double>& times, const SamplerConfig& config,
                           const std::string& variant, int order) {
  require(variant == "bh1" || variant == "bh2",
          "unipc: unknown B(h) variant '" + variant + "'; expected bh1 or bh2");
  require(order >= 1 && order <= kMaxOrder, "unipc: order must be 1, 2 or 3");
  const auto& process = denoiser.process();
  const int steps = static_cast<int>(times.size()) - 1;
  std::vector<double> lambdas;
  for (double t : times) lambdas.push_back(process.lambda(t));
  std::vector<Step> plan;
  for (int i = 0; i < steps; ++i) {
    const int p = multistep_order(order, i, steps, config.lower_order_final);
    const double h = lambdas[i + 1] - lambdas[i], hh = -h;
    const double b_h = variant == "bh2" ? std::expm1(hh) : hh;
    std::array<double, kMaxOrder> rks{}, b{};
    for (int k = 1; k < p; ++k) rks[k - 1] = (lambdas[i - k] - lambdas[i]) / h;
    rks[p - 1] = 1.0;
    std::array<std::array<double, kMaxOrder>, kMaxOrder> r{};
    double factorial = 1.0;
    for (int row = 0; row < p; ++row) {
      for (int k = 0; k < p; ++k) r[row][k] = std::pow(rks[k], row);
      factorial *= row + 1;
      b[row] = hh * exp_phi(row + 2, hh) * factorial / b_h;
    }
    std::array<double, kMaxOrder> rho_p{}, rho_c{};
    if (p == 2) rho_p[0] = 0.5;
    if (p == 3) rho_p = solve(r, b, p - 1);
    if (p == 1)
      rho_c[0] = 0.5;
    else
      rho_c = solve(r, b, p);
    const double alpha_t = process.alpha(times[i + 1]);
    Step c;
    c.x_gain = process.sigma(times[i + 1]) / process.sigma(times[i]);
    c.m0_gain = -alpha_t * std::expm1(hh);
    const double scale = -alpha_t * b_h;  // D_k = (m_k - m_0) / r_k
    for (int k = 1; k < p; ++k) {
      c.pred[k - 1] = scale * rho_p[k - 1] / rks[k - 1];
      c.corr[k - 1] = scale * rho_c[k - 1] / rks[k - 1];
    }
    c.corr_new = scale * rho_c[p - 1];
    c.correct = i + 1 < steps;  // no corrector after the last step
    plan.push_back(c);
  }
  // History in locals: m[0] the newest model output, m[1], m[2] the earlier ones.
  std::array<torch::Tensor, kMaxOrder> m;
  m[0] = denoiser.x0(x, times[0]);
  for (int i = 0; i < steps; ++i) {
    const auto& c = plan[i];
    const auto base = c.x_gain * x + c.m0_gain * m[0];
    auto predicted = base;  // UniP
    for (int k = 1; k < kMaxOrder; ++k)
      if (c.pred[k - 1] != 0.0) predicted = predicted + c.pred[k - 1] * (m[k] - m[0]);
    if (!c.correct) {
      x = predicted;
      break;
    }
    const auto m_t = denoiser.x0(predicted, times[i + 1]);  // reused by the next step
    x = base + c.corr_new * (m_t - m[0]);                   // UniC
    for (int k = 1; k < kMaxOrder; ++k)
      if (c.corr[k - 1] != 0.0) x = x + c.corr[k - 1] * (m[k] - m[0]);
    m[2] = m[1];
    m[1] = m[0];
    m[0] = m_t;
  }
  return x;
}

std::vector<SamplerInfo> unipc_samplers() {
  std::vector<SamplerInfo> rows;
  for (const std::string variant : {"bh1", "bh2"}) {
    for (int order = 1; order <= kMaxOrder; ++order) {
      SamplerInfo row;
      row.name = "unipc-" + variant + "-" + std::to_string(order);
      row.description = "UniPC-" + std::to_string(order) + " " + variant +
                        ", data prediction, predictor-corrector (Zhao et al. 2023)";
      // UniC raises UniP-p to order p + 1; the order-2 warm-up step caps p = 3 at 3.
      row.order = std::min(order + 1, 3);
      row.stochastic = false;
      row.nfe = evaluations_per_step(1);
      row.sample = [variant, order](const Denoiser& denoiser, torch::Tensor x,
                                    const std::vector<double>& times, NoiseSource&,
                                    const SamplerConfig& config) {
        return sample_unipc(denoiser, std::move(x), times, config, variant, order);
      };
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace diffuse
