// Elementwise math under one name for host doubles and tensors, so that one templated formula
// serves both: a process's coefficients and a network's scalings are written once and computed
// either per sample (tensors) or once for a step's shared time (doubles, no tensor operations).
//
//   template <class T> T sigma_of(const T& t) { return number::sqrt(-number::expm1(2.0 * t)); }
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace diffuse::number {

inline double exp(double v) { return std::exp(v); }
inline double expm1(double v) { return std::expm1(v); }
inline double log(double v) { return std::log(v); }
inline double log1p(double v) { return std::log1p(v); }
inline double sqrt(double v) { return std::sqrt(v); }
inline double sin(double v) { return std::sin(v); }
inline double tan(double v) { return std::tan(v); }
inline double atan(double v) { return std::atan(v); }
inline double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
// log(1 / (1 + e^-v)) without overflow either way.
inline double log_sigmoid(double v) {
  return std::min(v, 0.0) - std::log1p(std::exp(-std::abs(v)));
}
inline double clamp(double v, double low, double high) { return std::clamp(v, low, high); }
inline double constant_like(double, double value) { return value; }
inline double copy(double v) { return v; }

inline torch::Tensor exp(const torch::Tensor& v) { return v.exp(); }
inline torch::Tensor expm1(const torch::Tensor& v) { return torch::expm1(v); }
inline torch::Tensor log(const torch::Tensor& v) { return v.log(); }
inline torch::Tensor log1p(const torch::Tensor& v) { return torch::log1p(v); }
inline torch::Tensor sqrt(const torch::Tensor& v) { return v.sqrt(); }
inline torch::Tensor sin(const torch::Tensor& v) { return v.sin(); }
inline torch::Tensor tan(const torch::Tensor& v) { return torch::tan(v); }
inline torch::Tensor atan(const torch::Tensor& v) { return torch::atan(v); }
inline torch::Tensor sigmoid(const torch::Tensor& v) { return torch::sigmoid(v); }
inline torch::Tensor log_sigmoid(const torch::Tensor& v) { return torch::log_sigmoid(v); }
inline torch::Tensor clamp(const torch::Tensor& v, double low, double high) {
  return v.clamp(low, high);
}
inline torch::Tensor constant_like(const torch::Tensor& like, double value) {
  return torch::full_like(like, value);
}
inline torch::Tensor copy(const torch::Tensor& v) { return v.clone(); }

}  // namespace diffuse::number
