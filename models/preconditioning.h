// What a trained network's output means and how its input and output are scaled: the
// preconditioning of Karras et al. 2022 ("EDM"), Table 1, generalised to every process of
// docs/design.md. A network computes a raw function F and the model returns
//
//   out(x, t) = c_skip x + c_out F(c_in x, c_noise)
//
// in its declared parameterization. With x / alpha = x0 + (sigma / alpha) eps the EDM row is
// Table 1 applied to sigma_hat = sigma / alpha (exactly Table 1 for the edm process, alpha = 1);
// the other rows have c_skip = 0, the same c_in and an output scale c_out that makes the target
// unit-sized, so one network works for every process:
//
//   eps: c_out = 1      x0: sigma_data      v: sqrt(alpha^2 + sigma^2 sigma_data^2)
//   velocity: sqrt(alpha'^2 sigma_data^2 + sigma'^2)    score: 1 / sigma (NCSN's output scaling)
//
//   Preconditioner pre("edm", /*sigma_data=*/0.5);
//   Preconditioning p = pre.at(coefficients_at(*process, t, x));   // [B, 1] each, c_noise [B]
#pragma once

#include "core/process/parameterization.h"
#include "core/process/process.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace diffuse {

// The names a config may give: auto (the process's convention), eps, x0, v, velocity, score, edm.
const std::vector<std::string>& network_parameterizations();

// The usual parameterization of a process: eps for the VP family, edm for edm, velocity for rf,
// score for the VE processes (ve, ve-geometric).
std::string default_parameterization(const ForwardProcess& process);

// "auto" -> default_parameterization(process); any other name is returned unchanged.
std::string resolve_parameterization(const std::string& name, const ForwardProcess& process);

struct Preconditioning {
  torch::Tensor c_skip;   // [B, 1]; undefined when zero
  torch::Tensor c_out;    // [B, 1]
  torch::Tensor c_in;     // [B, 1]
  torch::Tensor c_noise;  // [B]: the network's noise-level input, log(sigma / alpha) / 4
};

// The same at one time shared by a batch, as host doubles; c_skip = 0 where there is no skip.
struct ScalarPreconditioning {
  double c_skip = 0.0, c_out = 1.0, c_in = 1.0, c_noise = 0.0;
};

class Preconditioner {
 public:
  // name: a resolved parameterization (not "auto"); sigma_data > 0: the data's RMS.
  Preconditioner(std::string name, double sigma_data);

  // What the model's output is: edm is a preconditioned x0 prediction.
  Parameterization output() const { return output_; }
  const std::string& name() const { return name_; }
  double sigma_data() const { return sigma_data_; }

  // The coefficients at the process coefficients c (shaped [B, 1], in x's dtype).
  Preconditioning at(const ProcessCoefficients& c) const;
  ScalarPreconditioning at(const ScalarCoefficients& c) const;

 private:
  std::string name_;
  Parameterization output_;
  double sigma_data_;
};

// EDM's loss weight lambda = 1 / c_out^2 = (sigma^2 + sigma_data^2 alpha^2) / (sigma sigma_data)^2
// (Karras et al. 2022, Table 1, in the scaled form above).
torch::Tensor edm_loss_weight(const ProcessCoefficients& c, double sigma_data);

}  // namespace diffuse
