#include "models/torchscript.h"

#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "core/math/mixture.h"
#include "models/denoiser.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace diffuse {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  return out.str() + "]";
}

std::string sizes_text(torch::IntArrayRef sizes) { return shape_text(sizes.vec()); }

std::int64_t product(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// c10::Error's what() carries a C++ backtrace; the first line of its message is what a user
// needs.
std::string first_line(const std::exception& e) {
  std::string text = e.what();
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
    text = c10_error->what_without_backtrace();
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

bool is_tensor(const c10::TypePtr& type) { return type->kind() == c10::TypeKind::TensorType; }

// The module's forward: (self, x, t) or (self, x, t, labels), every argument and the result a
// Tensor. Returns the number of arguments after self.
std::size_t check_signature(const torch::jit::Module& module, const std::string& path) {
  const std::string expected =
      "expected forward(x: Tensor [B, ...], t: Tensor [B]) -> Tensor, or forward(x, t, labels: "
      "Tensor [B]) -> Tensor for a class-conditional module";
  const auto method = module.find_method("forward");
  if (!method)
    throw InputError(path + ": the TorchScript module has no forward method; " + expected);
  const auto& schema = method->function().getSchema();
  const auto& args = schema.arguments();
  std::ostringstream found;
  found << schema;
  const std::size_t n = args.empty() ? 0 : args.size() - 1;  // the first is self
  bool ok =
      (n == 2 || n == 3) && schema.returns().size() == 1 && is_tensor(schema.returns()[0].type());
  for (std::size_t i = 1; ok && i < args.size(); ++i) ok = is_tensor(args[i].type());
  if (!ok)
    throw InputError(path + ": the TorchScript module's forward is " + found.str() + "; " +
                     expected);
  return n;
}

template <class T>
std::optional<T> attribute(const torch::jit::Module& module, const char* name) {
  if (!module.hasattr(name)) return std::nullopt;
  const auto value = module.attr(name);
  if constexpr (std::is_same_v<T, std::string>) {
    if (value.isString()) return value.toStringRef();
  } else if constexpr (std::is_same_v<T, double>) {
    if (value.isDouble()) return value.toDouble();
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    if (value.isInt()) return value.toInt();
  } else {
    if (value.isIntList()) return value.toIntVector();
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& torchscript_predictions() {
  static const std::vector<std::string> names = {"eps", "x0", "v", "velocity", "score", "edm"};
  return names;
}

// apps/run's data_sample_shape lives above models, so its three cases are repeated here.
std::vector<std::int64_t> torchscript_data_shape(const ModelConfig& config,
                                                 const DataConfig& data) {
  if (config.dim) return {*config.dim};
  if (data.kind == "idx") return {784};
  if (data.kind == "two-moons") return {2};
  auto mixture = make_mixture(data);
  require(mixture.has_value(),
          "model.kind = torchscript: set model.dim or model.shape for "
          "data.kind = " +
              data.kind);
  return {mixture->dim()};
}

TorchScriptModel::TorchScriptModel(torch::jit::Module module, std::string path,
                                   std::string prediction, std::vector<std::int64_t> shape,
                                   std::int64_t num_classes,
                                   std::optional<Preconditioner> preconditioner, ProcessPtr process)
    : module_(std::move(module)),
      path_(std::move(path)),
      prediction_(std::move(prediction)),
      shape_(std::move(shape)),
      num_classes_(num_classes),
      preconditioner_(std::move(preconditioner)),
      process_(std::move(process)),
      parameterization_(prediction_ == "edm" ? Parameterization::x0
                                             : parse_parameterization(prediction_)) {
  require(process_ != nullptr, "TorchScriptModel: no process");
  require(prediction_ != "edm" || preconditioner_.has_value(),
          "TorchScriptModel: prediction edm needs its preconditioner");
}

torch::Tensor TorchScriptModel::call(const torch::Tensor& x, const torch::Tensor& t,
                                     const torch::Tensor& labels) {
  std::vector<torch::jit::IValue> inputs = {x, t};
  if (num_classes_ > 0) inputs.emplace_back(labels);
  const auto result = module_.forward(inputs);
  if (!result.isTensor())
    throw InputError(path_ + ": forward returned " + result.tagKind() + "; expected a Tensor");
  auto out = result.toTensor();
  if (out.sizes() != x.sizes())
    throw InputError(path_ + ": forward returned shape " + sizes_text(out.sizes()) +
                     " for x of shape " + sizes_text(x.sizes()) + "; expected x's shape");
  if (out.scalar_type() != x.scalar_type())
    throw InputError(path_ + ": forward returned " + std::string(c10::toString(out.scalar_type())) +
                     " for " + c10::toString(x.scalar_type()) +
                     " input; expected x's dtype (a constant of fixed dtype inside the module?)");
  return out;
}

torch::Tensor TorchScriptModel::forward(const torch::Tensor& x, const torch::Tensor& t) {
  if (num_classes_ == 0) return forward_labelled(x, t, torch::Tensor());
  return forward_labelled(
      x, t, torch::full({x.size(0)}, num_classes_, torch::dtype(torch::kInt64).device(x.device())));
}

torch::Tensor TorchScriptModel::forward_labelled(const torch::Tensor& x, const torch::Tensor& t,
                                                 const torch::Tensor& labels) {
  require(x.dim() >= 1 && t.numel() == x.size(0),
          path_ + ": model forward: expected x [B, ...] and t [B]");
  require(num_classes_ > 0 || !labels.defined(),
          path_ + " is not class-conditional (set model.num_classes for a module taking labels)");
  require(x[0].numel() == product(shape_), path_ + ": x of shape " + sizes_text(x.sizes()) +
                                               " does not hold rows of model.shape " +
                                               shape_text(shape_));
  std::vector<std::int64_t> sizes = {x.size(0)};
  sizes.insert(sizes.end(), shape_.begin(), shape_.end());
  const auto shaped = x.reshape(sizes);
  const auto times = t.reshape({-1}).to(x.scalar_type());
  const auto label_tensor = labels.defined() ? labels.to(x.device(), torch::kInt64) : labels;
  if (!preconditioner_) return call(shaped, times, label_tensor).reshape(x.sizes());
  // EDM's form: D(x) = c_skip x + c_out F(c_in x, c_noise) (Karras et al. 2022, Table 1).
  const auto c = coefficients_at(*process_, t.reshape({-1}), shaped, false);
  const auto p = preconditioner_->at(c);
  auto out = p.c_out * call(p.c_in * shaped, p.c_noise.to(x.scalar_type()), label_tensor) +
             p.c_skip * shaped;
  return out.reshape(x.sizes());
}

std::string TorchScriptModel::describe() const {
  std::int64_t n = 0;
  for (const auto& p : module_.parameters()) n += p.numel();
  std::string text = "torchscript " + path_ + " (" + prediction_ + ", shape " + shape_text(shape_) +
                     ", " + std::to_string(n) + " parameters";
  if (num_classes_ > 0) text += ", " + std::to_string(num_classes_) + " classes";
  return text + ")";
}

bool is_torchscript_file(const std::string& path) {
  return path.size() > 3 && path.compare(path.size() - 3, 3, ".ts") == 0;
}

std::shared_ptr<TorchScriptModel> load_torchscript_model(const ModelConfig& config,
                                                         const ProcessPtr& process,
                                                         std::vector<std::int64_t> data_shape,
                                                         const torch::TensorOptions& options) {
  const std::string& path = config.path;
  require(!path.empty(), "model.kind = torchscript needs model.path (a torch.jit.save file)");
  require(std::filesystem::is_regular_file(path),
          "model.path = " + path + ": no such file (expected a TorchScript module)");
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, options.device());
  } catch (const std::exception& e) {
    throw InputError(path +
                     ": not a TorchScript module (expected a file written by "
                     "torch.jit.save): " +
                     first_line(e));
  }
  const std::size_t arity = check_signature(module, path);

  // The config wins; attributes the module carries fill what it leaves open.
  std::string prediction = config.prediction;
  if (prediction.empty()) prediction = attribute<std::string>(module, "prediction").value_or("");
  const auto& names = torchscript_predictions();
  if (std::find(names.begin(), names.end(), prediction) == names.end())
    throw InputError(path + ": model.prediction = '" + prediction +
                     "'; expected eps, x0, v, velocity, score or edm (what the module returns)");
  std::vector<std::int64_t> shape = config.shape;
  if (shape.empty())
    shape =
        attribute<std::vector<std::int64_t>>(module, "shape").value_or(std::vector<std::int64_t>{});
  if (shape.empty()) shape = data_shape;
  require(product(shape) == product(data_shape), path + ": model.shape " + shape_text(shape) +
                                                     " does not hold the data's rows " +
                                                     shape_text(data_shape));
  std::int64_t num_classes = config.num_classes;
  if (num_classes == 0) num_classes = attribute<std::int64_t>(module, "num_classes").value_or(0);
  if (arity == 3 && num_classes <= 0)
    throw InputError(path +
                     ": forward takes class labels; set model.num_classes (the null "
                     "label of guidance is num_classes)");
  if (arity == 2 && num_classes > 0)
    throw InputError(path + ": model.num_classes = " + std::to_string(num_classes) +
                     " but forward takes no labels; expected forward(x, t, labels)");
  if (const auto own = attribute<std::string>(module, "process")) {
    // Exported with its process: the run's must be the same (kind, range and schedule).
    const auto theirs = make_process(config::load<ProcessConfig>(YAML::Load(*own), "process"));
    const double mid = 0.5 * (process->t_min() + process->t_max());
    const bool same = theirs->name() == process->name() && theirs->t_min() == process->t_min() &&
                      theirs->t_max() == process->t_max() &&
                      std::abs(theirs->log_alpha(mid) - process->log_alpha(mid)) <= 1e-12 &&
                      std::abs(theirs->sigma(mid) / process->sigma(mid) - 1.0) <= 1e-12;
    require(same, path + ": the module was exported for the process {" + *own +
                      "}; the run's process (" + process->name() +
                      ") differs: set process: to the module's");
  }
  std::optional<Preconditioner> preconditioner;
  if (prediction == "edm") {
    const auto sigma_data =
        config.sigma_data ? config.sigma_data : attribute<double>(module, "sigma_data");
    require(sigma_data.has_value(),
            path + ": model.prediction = edm needs model.sigma_data (the data's RMS)");
    preconditioner.emplace("edm", *sigma_data);
  }
  module.to(options.device(), torch::typeMetaToScalarType(options.dtype()));
  module.eval();
  auto model = std::make_shared<TorchScriptModel>(std::move(module), path, prediction, shape,
                                                  num_classes, preconditioner, process);

  // The probe: two rows at two times, so a module that drops the batch or t's shape fails here.
  torch::NoGradGuard no_grad;
  auto generator = make_generator(0);
  std::vector<std::int64_t> sizes = {2};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  const auto x = torch::randn(sizes, generator, torch::kFloat64).to(options);
  const double lo = process->t_min(), hi = process->t_max();
  const auto t = torch::tensor({lo + 0.3 * (hi - lo), lo + 0.7 * (hi - lo)}, options);
  torch::Tensor out;
  try {
    out = num_classes > 0 ? model->forward_labelled(
                                x, t, torch::tensor({std::int64_t{0}, num_classes}, torch::kInt64))
                          : model->forward(x, t);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(path + ": forward failed on a probe batch x " + shape_text(sizes) +
                     ", t [2]: " + first_line(e) + " (expected x [B, ...] of model.shape " +
                     shape_text(shape) + " and t [B])");
  }
  require(torch::isfinite(out).all().item<bool>(),
          path + ": forward returned non-finite values on a probe batch of standard normal x");
  return model;
}

}  // namespace diffuse
