// Helpers of the consistency-model suites: the exact consistency function of Gaussian data
// N(m, s^2 I) (the PF-ODE map to t_min is affine, tests/gaussian_flow.h), and a model wrapper
// that counts calls and rows (what "the teacher is evaluated once per example" means).
#pragma once

#include "tests/gaussian_flow.h"

#include <memory>

namespace diffuse::testing {

// f*(x, t) = alpha_min m + (r_min / r_t) (x - alpha_t m), r_t^2 = alpha_t^2 s^2 + sigma_t^2, as
// an x0-parameterized model; `scale` != 1 distorts it (a wrong student).
class ExactConsistencyFunction : public ScoreModel {
 public:
  ExactConsistencyFunction(ProcessPtr process, GaussianTarget g, double scale = 1.0)
      : process_(std::move(process)), g_(g), scale_(scale) {}
  Parameterization parameterization() const override { return Parameterization::x0; }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    const auto c = coefficients_at(*process_, t, x);
    const double t0 = process_->t_min();
    const auto r_t = (c.alpha * c.alpha * g_.variance + c.sigma * c.sigma).sqrt();
    const double r_min = marginal_std(*process_, g_, t0);
    return process_->alpha(t0) * g_.mean + scale_ * (r_min / r_t) * (x - c.alpha * g_.mean);
  }
  std::string describe() const override { return "exact consistency function"; }

 private:
  ProcessPtr process_;
  GaussianTarget g_;
  double scale_;
};

// Forwards to a model, counting forward calls and the rows they carried.
class CountingModel : public ScoreModel {
 public:
  explicit CountingModel(ScoreModelPtr inner) : inner_(std::move(inner)) {}
  Parameterization parameterization() const override { return inner_->parameterization(); }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    ++calls;
    rows += x.size(0);
    return inner_->forward(x, t);
  }
  std::string describe() const override { return "counting " + inner_->describe(); }

  std::int64_t calls = 0, rows = 0;

 private:
  ScoreModelPtr inner_;
};

}  // namespace diffuse::testing
