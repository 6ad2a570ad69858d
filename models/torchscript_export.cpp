#include "models/torchscript_export.h"

#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/io/atomic_file.h"

#include <cctype>
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

// A Linear layer of the network; `layer` is its scripted name, prefix included.
std::string linear(const std::string& x, const std::string& layer) {
  return "torch.linear(" + x + ", self." + layer + "_weight, self." + layer + "_bias)";
}

// The first lines of a raw network's TorchScript: its signature, then `e` (or `h`) = the noise
// embedding of models/time_embedding.cpp's NoiseEmbeddingImpl::forward. `p` prefixes every
// parameter name ("latent_" inside a subspace model).
std::string raw_header(const std::string& name, const std::string& p, bool labelled,
                       const std::string& embedding) {
  std::ostringstream s;
  s << "def " << name << "(self, x_in: Tensor, c_noise: Tensor"
    << (labelled ? ", labels: Tensor" : "") << ") -> Tensor:\n"
    << "    phase = c_noise.reshape(-1, 1).to(self." << p << "embed_frequencies.dtype) * self." << p
    << "embed_frequencies\n"
    << "    features = torch.cat([torch.cos(phase), torch.sin(phase)], 1)\n"
    << "    " << embedding << " = torch.silu("
    << linear("torch.silu(" + linear("features", p + "embed_fc1") + ")", p + "embed_fc2") << ")\n";
  return s.str();
}

// models/mlp.cpp's MlpNetImpl::forward_labelled, line by line.
std::string mlp_source(const ModelConfig& c, const std::string& name, const std::string& p) {
  const bool labelled = c.num_classes > 0;
  const std::string norm_shape = "[" + std::to_string(c.width) + "]";
  auto layer_norm = [&](const std::string& h, const std::string& layer) {
    return "torch.layer_norm(" + h + ", " + norm_shape + ", self." + layer + "_weight, self." +
           layer + "_bias, 1e-05, False)";
  };
  std::ostringstream s;
  s << raw_header(name, p, labelled, "e");
  if (labelled) s << "    e = e + torch.embedding(self." << p << "label_embed_weight, labels)\n";
  s << "    h = " << linear("x_in", p + "input") << "\n";
  for (int k = 0; k < c.depth; ++k) {
    const std::string b = p + "blocks_" + std::to_string(k);
    s << "    y = " << (c.layer_norm ? layer_norm("h", b + "_norm") : "h") << "\n"
      << "    h = h + "
      << linear("torch.silu(" + linear("y", b + "_fc1") + " + " + linear("e", b + "_project") + ")",
                b + "_fc2")
      << "\n";
  }
  if (c.layer_norm) s << "    h = " << layer_norm("h", p + "norm") << "\n";
  s << "    return " << linear("torch.silu(h)", p + "output") << " + "
    << linear("e", p + "skip_gain") << " * x_in\n";
  return s.str();
}

// models/linear.cpp's LinearNetImpl::forward: F = W(t) x_in + b(t), in dim dimensions.
std::string linear_net_source(const ModelConfig& c, std::int64_t dim, const std::string& name,
                              const std::string& p) {
  const std::string d = std::to_string(dim);
  std::ostringstream s;
  s << raw_header(name, p, false, "h") << "    b = " << linear("h", p + "b_head") << "\n";
  if (c.matrix == "diag") {
    s << "    return " << linear("h", p + "w_head") << " * x_in + b\n";
    return s.str();
  }
  // The C++ takes x W^T for one shared W; mirrored so the two agree to the last bit.
  s << "    w = " << linear("h", p + "w_head") << ".view(-1, " << d << ", " << d << ")\n"
    << "    if w.size(0) == 1:\n"
    << "        return x_in.matmul(w[0].t()) + b\n"
    << "    return w.matmul(x_in.unsqueeze(-1)).squeeze(-1) + b\n";
  return s.str();
}

// models/two_layer.cpp's TwoLayerNetImpl::forward: sum_m softmax_m(a_m . x + b_m) (W_m x + c_m)
// (Shah, Chen, Klivans 2023), with its shared-noise-level branches.
std::string two_layer_source(const ModelConfig& c, std::int64_t dim, const std::string& name,
                             const std::string& p) {
  const std::string m = std::to_string(c.components), d = std::to_string(dim);
  const std::string md = std::to_string(static_cast<std::int64_t>(c.components) * dim);
  std::ostringstream s;
  s << raw_header(name, p, false, "h") << "    shared = h.size(0) == 1\n"
    << "    x = x_in.unsqueeze(1)\n"
    << "    a = " << linear("h", p + "a_head") << ".view(-1, " << m << ", " << d << ")\n"
    << "    if shared:\n"
    << "        ax = x_in.matmul(a[0].t())\n"
    << "    else:\n"
    << "        ax = (a * x).sum(-1)\n"
    << "    r = torch.softmax(ax + " << linear("h", p + "b_head") << ", 1).unsqueeze(-1)\n"
    << "    w = " << linear("h", p + "w_head") << "\n";
  if (c.matrix == "diag") {
    s << "    wx = w.view(-1, " << m << ", " << d << ") * x\n";
  } else {
    s << "    if shared:\n"
      << "        wx = x_in.matmul(w.view(" << md << ", " << d << ").t()).view(-1, " << m << ", "
      << d << ")\n"
      << "    else:\n"
      << "        wx = w.view(-1, " << m << ", " << d << ", " << d
      << ").matmul(x.unsqueeze(-1)).squeeze(-1)\n";
  }
  s << "    return (r * (wx + " << linear("h", p + "c_head") << ".view(-1, " << m << ", " << d
    << "))).sum(1)\n";
  return s.str();
}

// The raw network of `kind` in dim dimensions, as a method `name`.
std::string raw_source(const std::string& kind, const ModelConfig& c, std::int64_t dim,
                       const std::string& name, const std::string& p) {
  if (kind == "mlp") return mlp_source(c, name, p);
  if (kind == "linear") return linear_net_source(c, dim, name, p);
  return two_layer_source(c, dim, name, p);
}

// PreconditionedModel::forward_labelled with Preconditioner::at (models/network.cpp,
// models/preconditioning.cpp): coefficients in float64, cast to x's dtype, scalings from them.
// Written as method `method` around the raw network `raw`.
std::string forward_source(const ModelConfig& c, const std::string& method,
                           const std::string& raw) {
  const bool labelled = c.num_classes > 0;
  const double sd = *c.sigma_data;
  const std::string& name = c.parameterization;
  std::ostringstream s;
  s << "def " << method << "(self, x: Tensor, t: Tensor" << (labelled ? ", labels: Tensor" : "")
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
  s << "    out = c_out * self." << raw << "(c_in * flat, c_noise" << (labelled ? ", labels" : "")
    << ")\n";
  if (name == "edm")
    s << "    out = out + " << literal(sd * sd) << " * a / (scale * scale) * flat\n";
  s << "    return out.reshape(x.shape)\n";
  return s.str();
}

// models/subspace.cpp's SubspaceModel::forward: A = Q of the raw basis with diag(R) > 0 (the QR
// retraction), out = A q_latent(A^T x, t) + predict(p, 0, (I - A A^T) x / sigma), the latent
// network preconditioned as any other (method latent_forward).
std::string subspace_source(Parameterization p) {
  std::ostringstream s;
  s << "def forward(self, x: Tensor, t: Tensor) -> Tensor:\n"
    << "    flat = x.reshape(x.size(0), -1)\n"
    << "    q, r = torch.linalg_qr(self.basis, \"reduced\")\n"
    << "    diag = r.diagonal()\n"
    << "    basis = q * torch.where(diag < 0, -torch.ones_like(diag), torch.ones_like(diag))\n"
    << "    z = flat.matmul(basis)\n"
    << "    latent = self.latent_forward(z, t)\n"
    << "    k = self.coefficients(t.reshape(-1))\n"
    << "    a = k[0].to(x.dtype).reshape(-1, 1)\n"
    << "    s = k[1].to(x.dtype).reshape(-1, 1)\n"
    << "    da = k[2].to(x.dtype).reshape(-1, 1)\n"
    << "    ds = k[3].to(x.dtype).reshape(-1, 1)\n"
    << "    eps_perp = (flat - z.matmul(basis.t())) / s\n"
    << "    x0 = torch.zeros_like(flat)\n";
  // core/process/parameterization.cpp's predict with x0 = 0: the orthogonal part is pure noise.
  switch (p) {
    case Parameterization::eps:
      s << "    perp = eps_perp\n";
      break;
    case Parameterization::x0:
      s << "    perp = x0\n";
      break;
    case Parameterization::score:
      s << "    perp = -eps_perp / s\n";
      break;
    case Parameterization::v:
      s << "    perp = a * eps_perp - s * x0\n";
      break;
    case Parameterization::velocity:
      s << "    perp = da * x0 + ds * eps_perp\n";
      break;
  }
  s << "    out = latent.matmul(basis.t()) + perp\n"
    << "    return out.reshape(x.shape)\n";
  return s.str();
}

// The exported class's name: ExportedMlp, ExportedLinear, ExportedTwoLayer, ExportedSubspace.
std::string exported_class(const std::string& kind) {
  std::string name = "Exported";
  bool upper = true;
  for (char c : kind) {
    if (c == '-') {
      upper = true;
      continue;
    }
    name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name;
}

}  // namespace

torch::jit::Module export_torchscript(const NetworkModel& model, const ModelConfig& config,
                                      const ProcessConfig& process,
                                      const std::vector<std::int64_t>& shape) {
  const std::string& kind = config.kind;
  require((kind == "mlp" || kind == "linear" || kind == "two-layer" || kind == "subspace") &&
              !config.consistency,
          "diffuse export: model.kind = " + kind + (config.consistency ? " (consistency)" : "") +
              " is not supported yet; expected a linear, two-layer, mlp or subspace score "
              "network (not a consistency model)");
  require(config.sigma_data.has_value() && config.parameterization != "auto",
          "diffuse export: the model config is not resolved (parameterization, sigma_data)");
  // model_factory's make_network: subspace, and linear with a rank, wrap a latent network in
  // rank dimensions (models/subspace.h); the others are one preconditioned raw network.
  const bool subspace = kind == "subspace" || (kind == "linear" && config.rank.has_value());
  require(!subspace || (config.rank.has_value() && config.num_classes == 0),
          "diffuse export: model.kind = " + kind + " needs model.rank and no labels");
  torch::jit::Module module("__torch__.diffuse." + exported_class(kind));
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
  if (subspace) {
    const std::string latent = kind == "subspace" ? config.latent : "linear";
    module.define(raw_source(latent, config, *config.rank, "latent_raw", "latent_"));
    module.define(forward_source(config, "latent_forward", "latent_raw"));
    module.define(subspace_source(model.parameterization()));
  } else {
    require(config.dim.has_value(), "diffuse export: the model config has no model.dim");
    module.define(raw_source(kind, config, *config.dim, "raw", ""));
    module.define(forward_source(config, "forward", "raw"));
  }
  module.eval();
  return module;
}

void save_torchscript(const torch::jit::Module& module, const std::string& path) {
  ensure_parent_directory(path);
  write_file_atomically(path, [&](std::ostream& out) { module.save(out); });
}

}  // namespace diffuse
