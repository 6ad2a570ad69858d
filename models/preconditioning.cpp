#include "models/preconditioning.h"

#include "core/base/errors.h"
#include "core/base/number.h"

#include <algorithm>

namespace diffuse {

namespace {

// |c_noise| <= 5, i.e. sigma / alpha in [e^-20, e^20]: alpha reaches 0 at rf's t = 1, where
// log(sigma / alpha) is infinite and a sinusoidal embedding of it would be NaN.
constexpr double kNoiseFeatureBound = 5.0;

}  // namespace

const std::vector<std::string>& network_parameterizations() {
  static const std::vector<std::string> names = {"auto",     "eps",   "x0", "v",
                                                 "velocity", "score", "edm"};
  return names;
}

std::string default_parameterization(const ForwardProcess& process) {
  if (process.variance_preserving()) return "eps";
  const std::string name = process.name();
  if (name == "edm") return "edm";
  if (name == "rf") return "velocity";
  return "score";  // ve, ve-geometric
}

std::string resolve_parameterization(const std::string& name, const ForwardProcess& process) {
  return name == "auto" ? default_parameterization(process) : name;
}

Preconditioner::Preconditioner(std::string name, double sigma_data)
    : name_(std::move(name)), output_(Parameterization::x0), sigma_data_(sigma_data) {
  const auto& names = network_parameterizations();
  require(name_ != "auto" && std::find(names.begin(), names.end(), name_) != names.end(),
          "model.parameterization = '" + name_ +
              "': expected eps, x0, v, velocity, score or edm");
  require(sigma_data_ > 0.0, "model.sigma_data must be > 0");
  if (name_ != "edm") output_ = parse_parameterization(name_);
}

namespace {

template <class T>
struct Scalings {
  T c_skip{}, c_out, c_in, c_noise;  // c_skip: undefined / 0 when there is none
};

// One body for both number types, so the tensor and the shared-time paths cannot disagree.
template <class T>
Scalings<T> scalings(const std::string& name, Parameterization output, double sd, const T& a,
                     const T& s, const T& da, const T& ds) {
  Scalings<T> p;
  // sqrt(sigma^2 + sigma_data^2 alpha^2) = alpha sqrt(sigma_hat^2 + sigma_data^2): the RMS of x.
  const T scale = number::sqrt(s * s + (sd * sd) * a * a);
  p.c_in = 1.0 / scale;
  p.c_noise = number::clamp(number::log(s / a) * 0.25, -kNoiseFeatureBound, kNoiseFeatureBound);
  if (name == "edm") {
    // Table 1 on x / alpha with sigma_hat = sigma / alpha, multiplied through by alpha so that
    // alpha -> 0 stays finite: c_skip (x / alpha) = sd^2 alpha / (sigma^2 + sd^2 alpha^2) x.
    p.c_skip = (sd * sd) * a / (scale * scale);
    p.c_out = s * sd / scale;
    return p;
  }
  switch (output) {
    case Parameterization::eps: p.c_out = number::constant_like(a, 1.0); break;
    case Parameterization::x0: p.c_out = number::constant_like(a, sd); break;
    case Parameterization::v: p.c_out = number::sqrt(a * a + (sd * sd) * s * s); break;
    case Parameterization::velocity:
      p.c_out = number::sqrt((sd * sd) * da * da + ds * ds);
      break;
    case Parameterization::score: p.c_out = 1.0 / s; break;
  }
  return p;
}

}  // namespace

Preconditioning Preconditioner::at(const ProcessCoefficients& c) const {
  const auto p = scalings(name_, output_, sigma_data_, c.alpha, c.sigma, c.dalpha_dt, c.dsigma_dt);
  return {p.c_skip, p.c_out, p.c_in, p.c_noise.reshape({-1})};
}

ScalarPreconditioning Preconditioner::at(const ScalarCoefficients& c) const {
  const auto p = scalings(name_, output_, sigma_data_, c.alpha, c.sigma, c.dalpha_dt, c.dsigma_dt);
  return {p.c_skip, p.c_out, p.c_in, p.c_noise};
}

torch::Tensor edm_loss_weight(const ProcessCoefficients& c, double sigma_data) {
  const auto &a = c.alpha, &s = c.sigma;
  const double sd2 = sigma_data * sigma_data;
  return (s * s + sd2 * a * a) / (s * s * sd2);
}

}  // namespace diffuse
