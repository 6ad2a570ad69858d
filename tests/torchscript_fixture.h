// TorchScript modules for the tests, built in C++ with Module::define so no Python is needed:
// the exact predictions of Gaussian data x0 ~ N(0, c^2 I) under vp-linear (b0 = 0.1, b1 = 20),
// written out independently of core/process/process_vp.cpp.
#pragma once

#include <torch/script.h>

#include <string>

namespace diffuse::testing {

inline constexpr double kGaussianStd = 0.7;  // c

inline torch::jit::Module scripted_module(const std::string& source) {
  torch::jit::Module module("__torch__.diffuse_test.Module");
  module.define(source);
  return module;
}

// forward(x, t) returning `expression` in terms of x0, eps (the posterior means E[x0 | x],
// E[eps | x]), a, s (alpha, sigma) and da, ds (their t-derivatives). t_view reshapes t to
// broadcast against x ("-1, 1" for flat rows, "-1, 1, 1, 1" for images).
inline std::string gaussian_vp_source(const std::string& expression,
                                      const std::string& t_view = "-1, 1") {
  return "def forward(self, x: Tensor, t: Tensor) -> Tensor:\n"
         "    tt = t.reshape(" +
         t_view +
         ")\n"
         "    la = -0.25 * 19.9 * tt * tt - 0.05 * tt\n"
         "    a = torch.exp(la)\n"
         "    s = torch.sqrt(1.0 - torch.exp(2.0 * la))\n"
         "    f = -0.5 * 19.9 * tt - 0.05\n"
         "    da = a * f\n"
         "    ds = -a * a * f / s\n"
         "    d = a * a * 0.49 + s * s\n"
         "    x0 = a * 0.49 / d * x\n"
         "    eps = s / d * x\n"
         "    return " +
         expression + "\n";
}

}  // namespace diffuse::testing
