#include "core/process/parameterization.h"

#include "core/base/errors.h"

namespace diffuse {

const std::vector<std::string>& parameterization_names() {
  static const std::vector<std::string> names = {"eps", "x0", "v", "velocity", "score"};
  return names;
}

Parameterization parse_parameterization(const std::string& name) {
  const auto& names = parameterization_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Parameterization>(i);
  throw InputError("unknown parameterization '" + name + "': expected eps, x0, v, velocity or score");
}

std::string to_string(Parameterization p) {
  return parameterization_names().at(static_cast<std::size_t>(p));
}

namespace {

// One body for tensor coefficients ([B, 1, ...]) and host doubles: the operators are the same.
template <class Coefficients>
CleanAndNoise split_with(Parameterization p, const torch::Tensor& pred, const torch::Tensor& x,
                         const Coefficients& c) {
  const auto &a = c.alpha, &s = c.sigma;
  switch (p) {
    case Parameterization::eps:
      return {(x - s * pred) / a, pred};
    case Parameterization::x0:
      return {pred, (x - a * pred) / s};
    case Parameterization::score: {
      const auto eps = -s * pred;
      return {(x - s * eps) / a, eps};
    }
    case Parameterization::v: {
      // [x; v] = [[a, s], [-s, a]] [x0; eps]; determinant a^2 + s^2.
      const auto det = a * a + s * s;
      return {(a * x - s * pred) / det, (s * x + a * pred) / det};
    }
    case Parameterization::velocity: {
      // [x; u] = [[a, s], [a', s']] [x0; eps]; determinant a s' - s a' (> 0: SNR falls with t).
      const auto &da = c.dalpha_dt, &ds = c.dsigma_dt;
      const auto det = a * ds - s * da;
      return {(ds * x - s * pred) / det, (a * pred - da * x) / det};
    }
  }
  throw std::logic_error("unhandled parameterization");
}

}  // namespace

CleanAndNoise split(Parameterization p, const torch::Tensor& pred, const torch::Tensor& x,
                    const ProcessCoefficients& c) {
  return split_with(p, pred, x, c);
}

CleanAndNoise split(Parameterization p, const torch::Tensor& pred, const torch::Tensor& x,
                    const ScalarCoefficients& c) {
  return split_with(p, pred, x, c);
}

torch::Tensor predict(Parameterization p, const torch::Tensor& x0, const torch::Tensor& eps,
                      const ProcessCoefficients& c) {
  switch (p) {
    case Parameterization::eps: return eps;
    case Parameterization::x0: return x0;
    case Parameterization::score: return -eps / c.sigma;
    case Parameterization::v: return c.alpha * eps - c.sigma * x0;
    case Parameterization::velocity: return c.dalpha_dt * x0 + c.dsigma_dt * eps;
  }
  throw std::logic_error("unhandled parameterization");
}

}  // namespace diffuse
