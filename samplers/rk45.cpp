#include "samplers/rk45.h"

#include "core/base/errors.h"
#include "core/base/format.h"
#include "samplers/families.h"

#include <cmath>

namespace diffuse {

namespace {

// Dormand & Prince 1980, RK5(4)7M: nodes c, stage weights a, fifth-order weights b and the
// error weights e = b - b_hat (b_hat: the embedded fourth-order solution; FSAL: a7 = b).
constexpr double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
constexpr double a21 = 1.0 / 5;
constexpr double a31 = 3.0 / 40, a32 = 9.0 / 40;
constexpr double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
constexpr double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561,
                 a54 = -212.0 / 729;
constexpr double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247, a64 = 49.0 / 176,
                 a65 = -5103.0 / 18656;
constexpr double b1 = 35.0 / 384, b3 = 500.0 / 1113, b4 = 125.0 / 192, b5 = -2187.0 / 6784,
                 b6 = 11.0 / 84;
constexpr double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920,
                 e5 = -17253.0 / 339200, e6 = 22.0 / 525, e7 = -1.0 / 40;

// Step-size control (Hairer, Norsett, Wanner I.4): safety factor and bounds of h_new / h.
constexpr double kSafety = 0.9, kMinFactor = 0.2, kMaxFactor = 10.0;

// The right-hand side dy/dlambda = x0_hat(alpha y, t(lambda)) - y at per-sample lambda [B]
// (float64 on x's device), counting its evaluations.
class Flow {
 public:
  Flow(const Denoiser& denoiser, const torch::Tensor& x, double t_from, double t_to)
      : denoiser_(denoiser),
        process_(denoiser.process()),
        t_from_(t_from),
        t_to_(t_to),
        lambda_from_(process_.lambda(t_from)),
        lambda_to_(process_.lambda(t_to)),
        dtype_(x.scalar_type()),
        column_(x.dim(), 1) {
    column_[0] = x.size(0);
  }

  double lambda_from() const { return lambda_from_; }
  double lambda_to() const { return lambda_to_; }
  std::int64_t evaluations() const { return evaluations_; }

  // t(lambda), with both endpoints exactly the times asked for (no round trip through lambda).
  torch::Tensor time(const torch::Tensor& lambda) const {
    auto t = process_.t_of_lambda(lambda);
    t = torch::where(lambda == lambda_from_, torch::full_like(t, t_from_), t);
    return torch::where(lambda == lambda_to_, torch::full_like(t, t_to_), t);
  }

  // A per-sample [B] tensor as a column [B, 1, ...] in x's dtype; a mask [B] as a column.
  torch::Tensor column(const torch::Tensor& v) const { return v.to(dtype_).reshape(column_); }
  torch::Tensor mask_column(const torch::Tensor& mask) const { return mask.reshape(column_); }

  torch::Tensor alpha(const torch::Tensor& lambda) const {
    return column(process_.alpha(time(lambda)));
  }

  torch::Tensor operator()(const torch::Tensor& y, const torch::Tensor& lambda) {
    const auto t = time(lambda);
    ++evaluations_;
    return denoiser_.predict(column(process_.alpha(t)) * y, t.to(dtype_)).x0 - y;
  }

 private:
  const Denoiser& denoiser_;
  const ForwardProcess& process_;
  double t_from_, t_to_, lambda_from_, lambda_to_;
  torch::ScalarType dtype_;
  std::vector<std::int64_t> column_;
  std::int64_t evaluations_ = 0;
};

// Per-sample RMS over a sample's elements, as float64 [B].
torch::Tensor rms(const torch::Tensor& v) {
  return v.reshape({v.size(0), -1}).pow(2).mean(1).sqrt().to(torch::kFloat64);
}

}  // namespace

Rk45Result rk45_flow(const Denoiser& denoiser, const torch::Tensor& x, double t_from,
                     double t_to, const ToleranceOptions& tolerance) {
  // Dormand-Prince RK5(4) with per-sample step sizes on dy/dlambda = x0_hat - y, y = x / alpha.
  require(t_to < t_from, "rk45: needs t_to < t_from, got " + format_number(t_from) + " -> " +
                             format_number(t_to));
  Flow flow(denoiser, x, t_from, t_to);
  const double lambda0 = flow.lambda_from(), lambda1 = flow.lambda_to();
  require(std::isfinite(lambda0) && std::isfinite(lambda1),
          "rk45: lambda = log(alpha / sigma) of process '" + denoiser.process().name() +
              "' is infinite at t = " + format_number(std::isfinite(lambda0) ? t_to : t_from) +
              "; move the grid's ends inside the process's range");
  const double span = lambda1 - lambda0, rtol = tolerance.rtol, atol = tolerance.atol;
  const auto f64 = x.options().dtype(torch::kFloat64);
  const std::int64_t n = x.size(0);

  auto lambda = torch::full({n}, lambda0, f64);
  const double alpha0 = denoiser.process().alpha(t_from);
  auto y = x / alpha0;
  auto k1 = flow(y, lambda);

  // Initial step (Hairer, Norsett, Wanner I.4, "starting step size"), per sample.
  const auto scale0 = atol + rtol * x.abs();
  const auto d0 = rms(x / scale0), d1 = rms(alpha0 * k1 / scale0);
  auto h0 = torch::where((d0 < 1e-5) | (d1 < 1e-5), torch::full_like(d0, 1e-6), 0.01 * d0 / d1);
  h0 = h0.clamp_max(span);
  const auto k_probe = flow(y + flow.column(h0) * k1, lambda + h0);
  const auto d2 = rms(alpha0 * (k_probe - k1) / scale0) / h0;
  const auto d_max = torch::max(d1, d2);
  const auto h1 = torch::where(d_max <= 1e-15, torch::clamp_min(h0 * 1e-3, 1e-6),
                               (0.01 / d_max).pow(0.2));
  auto h = torch::min(100.0 * h0, h1).clamp_max(span);

  const double h_min = 1e-12 * span;  // below this the step no longer moves lambda reliably
  auto rejected_last = torch::zeros({n}, f64.dtype(torch::kBool));
  auto rejected = torch::zeros({n}, f64.dtype(torch::kLong));
  Rk45Result result;
  while (true) {
    if (flow.evaluations() + 6 > tolerance.max_nfe)
      throw RuntimeFailure("rk45: reaching t = " + format_number(t_to) + " needs more than max_nfe = " +
                           std::to_string(tolerance.max_nfe) + " evaluations at rtol = " +
                           format_number(rtol) + ", atol = " + format_number(atol) +
                           "; loosen the tolerances or raise sampler.max_nfe");
    const auto remaining = lambda1 - lambda;
    const auto active = remaining > 0.0;
    h = torch::where(active, torch::min(h, remaining), torch::zeros_like(h));
    // The last step lands exactly on lambda1 (and so on t_to).
    const auto lambda_new =
        torch::where(h >= remaining, torch::full_like(lambda, lambda1), lambda + h);
    const auto hc = flow.column(h);

    const auto k2 = flow(y + hc * (a21 * k1), lambda + c2 * h);
    const auto k3 = flow(y + hc * (a31 * k1 + a32 * k2), lambda + c3 * h);
    const auto k4 = flow(y + hc * (a41 * k1 + a42 * k2 + a43 * k3), lambda + c4 * h);
    const auto k5 = flow(y + hc * (a51 * k1 + a52 * k2 + a53 * k3 + a54 * k4), lambda + c5 * h);
    const auto k6 =
        flow(y + hc * (a61 * k1 + a62 * k2 + a63 * k3 + a64 * k4 + a65 * k5), lambda_new);
    const auto y_new = y + hc * (b1 * k1 + b3 * k3 + b4 * k4 + b5 * k5 + b6 * k6);
    const auto k7 = flow(y_new, lambda_new);  // first stage of the next step (FSAL)

    // Local error of x at the step's end against atol + rtol max(|x_old|, |x_new|).
    const auto err_y = hc * (e1 * k1 + e3 * k3 + e4 * k4 + e5 * k5 + e6 * k6 + e7 * k7);
    const auto alpha_new = flow.alpha(lambda_new);
    const auto x_new = alpha_new * y_new;
    const auto scale = atol + rtol * torch::max((flow.alpha(lambda) * y).abs(), x_new.abs());
    const auto err = rms(alpha_new * err_y / scale);

    const auto accept = (err <= 1.0) | ~active;  // a NaN error is rejected
    auto factor = (kSafety * err.pow(-0.2)).clamp(kMinFactor, kMaxFactor);
    factor = torch::where(torch::isnan(err), torch::full_like(factor, kMinFactor), factor);
    factor = torch::where(accept & rejected_last, factor.clamp_max(1.0), factor);
    rejected += (~accept).to(torch::kLong);
    rejected_last = ~accept;

    const auto accept_column = flow.mask_column(accept);
    y = torch::where(accept_column, y_new, y);
    k1 = torch::where(accept_column, k7, k1);
    lambda = torch::where(accept, lambda_new, lambda);
    h = h * factor;
    ++result.attempts;

    // The one host read per step: how many samples are still on their way, and whether any
    // of them has a step too small to make progress.
    const auto going = lambda < lambda1;
    const auto status = torch::stack({going.sum(), (going & (h < h_min)).sum()}).cpu();
    if (status[0].item<std::int64_t>() == 0) break;
    if (status[1].item<std::int64_t>() > 0)
      throw RuntimeFailure("rk45: the step size underflowed before t = " + format_number(t_to) +
                           " (rtol = " + format_number(rtol) + ", atol = " + format_number(atol) +
                           "); the tolerances may be too tight for the dtype: use float64 or "
                           "looser tolerances");
  }
  result.x = flow.alpha(lambda) * y;
  result.nfe = flow.evaluations();
  result.rejected = rejected.sum().item<std::int64_t>();
  return result;
}

torch::Tensor sample_rk45(const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                          NoiseSource&, const ToleranceOptions& tolerance) {
  return rk45_flow(denoiser, x, times.front(), times.back(), tolerance).x;
}

std::vector<SamplerInfo> rk45_samplers() {
  const auto adaptive = [](int) -> std::int64_t { return -1; };
  return {
      {"rk45",
       "probability-flow ODE, adaptive Dormand-Prince RK5(4) in lambda (sampler.rtol, atol, "
       "max_nfe); the reference map",
       5, false, adaptive, {}, sample_rk45, /*adaptive=*/true},
  };
}

}  // namespace diffuse
