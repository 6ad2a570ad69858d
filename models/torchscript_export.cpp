#include "models/torchscript_export.h"

#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/io/atomic_file.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace diffuse {

namespace {

// A double as TorchScript source, round-trip exact.
std::string literal(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  std::string s = text;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string scripted_name(std::string name) {
  for (auto& c : name)
    if (c == '.') c = '_';
  return name;
}

// alpha, sigma and their t-derivatives at t (float64), the formulas of
// core/process/process_vp.cpp and core/process/process_ve.cpp for the kinds the exporter supports.
std::string process_source(const ProcessConfig& c) {
  std::ostringstream s;
  s << "    t = t.double()\n";
  if (c.kind == "vp-linear" || c.kind == "vp-ou" || c.kind == "vp-cosine") {
    if (c.kind == "vp-cosine") {
      // Nichol & Dhariwal's schedule in d = t pi / (2 (1 + s)), as core/process/process_vp.cpp
      // writes it.
      const double s0 = c.cosine_s.value_or(0.008), k = M_PI_2 / (1 + s0);
      s << "    d = t * " << literal(k) << "\n"
        << "    half_sine = torch.sin(0.5 * d)\n"
        << "    la = torch.log1p(-2.0 * half_sine * half_sine - "
        << literal(std::tan(s0 / (1 + s0) * M_PI_2)) << " * torch.sin(d))\n"
        << "    f = -" << literal(k) << " * torch.tan((t + " << literal(s0) << ") * " << literal(k)
        << ")\n";
    } else if (c.kind == "vp-linear") {
      const double b0 = c.beta_min.value_or(0.1), b1 = c.beta_max.value_or(20.0);
      s << "    la = -0.25 * " << literal(b1 - b0) << " * t * t - 0.5 * " << literal(b0) << " * t\n"
        << "    f = -0.5 * " << literal(b1 - b0) << " * t - 0.5 * " << literal(b0) << "\n";
    } else {
      s << "    la = -t\n    f = -torch.ones_like(t)\n";
    }
    // sigma = sqrt(1 - alpha^2); sigma' = -alpha^2 f / sigma.
    s << "    alpha = torch.exp(la)\n"
      << "    sigma = torch.sqrt(-torch.expm1(2.0 * la))\n"
      << "    return [alpha, sigma, alpha * f, -torch.exp(2.0 * la) * f / sigma]\n";
  } else if (c.kind == "ve") {
    s << "    return [torch.ones_like(t), torch.sqrt(t), torch.zeros_like(t), 0.5 / "
         "torch.sqrt(t)]\n";
  } else if (c.kind == "ve-geometric") {
    const double s0 = c.sigma_min.value_or(0.01), s1 = c.sigma_max.value_or(50.0);
    const double log_ratio = std::log(s1 / s0);
    s << "    sigma = torch.exp(" << literal(std::log(s0)) << " + " << literal(log_ratio)
      << " * t)\n"
      << "    return [torch.ones_like(t), sigma, torch.zeros_like(t), sigma * "
      << literal(log_ratio) << "]\n";
  } else if (c.kind == "edm") {
    s << "    return [torch.ones_like(t), t.clone(), torch.zeros_like(t), torch.ones_like(t)]\n";
  } else if (c.kind == "rf") {
    s << "    alpha = torch.exp(torch.log1p(-t))\n"
      << "    return [alpha, t.clone(), alpha * (-1.0 / (1.0 - t)), torch.ones_like(t)]\n";
  } else {
    throw InputError("diffuse export: process.kind = " + c.kind +
                     " is not supported yet; expected vp-linear, vp-cosine, vp-ou, ve, "
                     "ve-geometric, edm or rf");
  }
  return s.str();
}

std::string linear(const std::string& x, const std::string& layer) {
  return "torch.linear(" + x + ", self." + layer + "_weight, self." + layer + "_bias)";
}

// models/mlp.cpp's MlpNetImpl::forward_labelled, line by line.
std::string mlp_source(const ModelConfig& c) {
  const bool labelled = c.num_classes > 0;
  const std::string norm_shape = "[" + std::to_string(c.width) + "]";
  auto layer_norm = [&](const std::string& h, const std::string& name) {
    return "torch.layer_norm(" + h + ", " + norm_shape + ", self." + name + "_weight, self." +
           name + "_bias, 1e-05, False)";
  };
  std::ostringstream s;
  s << "def raw(self, x_in: Tensor, c_noise: Tensor" << (labelled ? ", labels: Tensor" : "")
    << ") -> Tensor:\n"
    << "    phase = c_noise.reshape(-1, 1).to(self.embed_frequencies.dtype) * "
       "self.embed_frequencies\n"
    << "    features = torch.cat([torch.cos(phase), torch.sin(phase)], 1)\n"
    << "    e = torch.silu("
    << linear("torch.silu(" + linear("features", "embed_fc1") + ")", "embed_fc2") << ")\n";
  if (labelled) s << "    e = e + torch.embedding(self.label_embed_weight, labels)\n";
  s << "    h = " << linear("x_in", "input") << "\n";
  for (int k = 0; k < c.depth; ++k) {
    const std::string b = "blocks_" + std::to_string(k);
    s << "    y = " << (c.layer_norm ? layer_norm("h", b + "_norm") : "h") << "\n"
      << "    h = h + "
      << linear("torch.silu(" + linear("y", b + "_fc1") + " + " + linear("e", b + "_project") + ")",
                b + "_fc2")
      << "\n";
  }
  if (c.layer_norm) s << "    h = " << layer_norm("h", "norm") << "\n";
  s << "    return " << linear("torch.silu(h)", "output") << " + " << linear("e", "skip_gain")
    << " * x_in\n";
  return s.str();
}

// PreconditionedModel::forward_labelled with Preconditioner::at (models/network.cpp,
// models/preconditioning.cpp): coefficients in float64, cast to x's dtype, scalings from them.
std::string forward_source(const ModelConfig& c) {
  const bool labelled = c.num_classes > 0;
  const double sd = *c.sigma_data;
  const std::string& name = c.parameterization;
  std::ostringstream s;
  s << "def forward(self, x: Tensor, t: Tensor" << (labelled ? ", labels: Tensor" : "")
    << ") -> Tensor:\n"
    << "    flat = x.reshape(x.size(0), -1)\n"
    << "    k = self.coefficients(t.reshape(-1))\n"
    << "    a = k[0].to(x.dtype).reshape(-1, 1)\n"
    << "    s = k[1].to(x.dtype).reshape(-1, 1)\n"
    << "    da = k[2].to(x.dtype).reshape(-1, 1)\n"
    << "    ds = k[3].to(x.dtype).reshape(-1, 1)\n"
    << "    scale = torch.sqrt(s * s + " << literal(sd * sd) << " * a * a)\n"
    << "    c_in = 1.0 / scale\n"
    << "    c_noise = torch.clamp(torch.log(s / a) * 0.25, -5.0, 5.0).reshape(-1)\n";
  if (name == "edm")
    s << "    c_out = s * " << literal(sd) << " / scale\n";
  else if (name == "eps")
    s << "    c_out = torch.ones_like(a)\n";
  else if (name == "x0")
    s << "    c_out = torch.full_like(a, " << literal(sd) << ")\n";
  else if (name == "v")
    s << "    c_out = torch.sqrt(a * a + " << literal(sd * sd) << " * s * s)\n";
  else if (name == "velocity")
    s << "    c_out = torch.sqrt(" << literal(sd * sd) << " * da * da + ds * ds)\n";
  else if (name == "score")
    s << "    c_out = 1.0 / s\n";
  else
    throw InputError("diffuse export: model.parameterization = '" + name + "' is not resolved");
  s << "    out = c_out * self.raw(c_in * flat, c_noise" << (labelled ? ", labels" : "") << ")\n";
  if (name == "edm")
    s << "    out = out + " << literal(sd * sd) << " * a / (scale * scale) * flat\n";
  s << "    return out.reshape(x.shape)\n";
  return s.str();
}

}  // namespace

torch::jit::Module export_torchscript(const NetworkModel& model, const ModelConfig& config,
                                      const ProcessConfig& process,
                                      const std::vector<std::int64_t>& shape) {
  require(config.kind == "mlp" && !config.consistency,
          "diffuse export: model.kind = " + config.kind +
              (config.consistency ? " (consistency)" : "") +
              " is not supported yet; expected an mlp score network");
  require(config.sigma_data.has_value() && config.parameterization != "auto",
          "diffuse export: the model config is not resolved (parameterization, sigma_data)");
  torch::jit::Module module("__torch__.diffuse.ExportedMlp");
  torch::NoGradGuard no_grad;
  for (const auto& p : model.module()->named_parameters(/*recurse=*/true))
    module.register_parameter(scripted_name(p.key()), p.value().detach().clone(), false);
  for (const auto& b : model.module()->named_buffers(/*recurse=*/true))
    module.register_buffer(scripted_name(b.key()), b.value().detach().clone());
  module.register_attribute("prediction", c10::StringType::get(),
                            to_string(model.parameterization()));
  module.register_attribute("kind", c10::StringType::get(), config.kind);
  module.register_attribute("process", c10::StringType::get(), config::to_yaml(process));
  module.register_attribute("shape", c10::ListType::ofInts(), c10::List<std::int64_t>(shape));
  module.register_attribute("num_classes", c10::IntType::get(),
                            static_cast<std::int64_t>(config.num_classes));
  module.register_attribute("sigma_data", c10::FloatType::get(), *config.sigma_data);
  module.define("def coefficients(self, t: Tensor) -> List[Tensor]:\n" + process_source(process));
  module.define(mlp_source(config));
  module.define(forward_source(config));
  module.eval();
  return module;
}

void save_torchscript(const torch::jit::Module& module, const std::string& path) {
  ensure_parent_directory(path);
  write_file_atomically(path, [&](std::ostream& out) { module.save(out); });
}

}  // namespace diffuse
