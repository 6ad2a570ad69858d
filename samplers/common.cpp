#include "samplers/common.h"

#include "core/base/errors.h"
#include "core/io/npy.h"
#include "core/math/numerics.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace diffuse {

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Wraps a Denoiser as a model that predicts the transformed x0; the outer view built on it
// recomputes eps from that x0. The wrapped Denoiser counts the evaluations.
class TransformedX0Model final : public ScoreModel {
 public:
  TransformedX0Model(const Denoiser& inner, const SamplerConfig& config)
      : inner_(inner), config_(config) {}

  Parameterization parameterization() const override { return Parameterization::x0; }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    return transform_x0(inner_.predict(x, t).x0, config_);
  }
  torch::Tensor forward_at(const torch::Tensor& x, double t) override {
    return transform_x0(inner_.predict(x, t).x0, config_);
  }

  std::string describe() const override {
    return inner_.model()->describe() + " (x0 clipped / thresholded)";
  }

 private:
  const Denoiser& inner_;
  SamplerConfig config_;
};

}  // namespace

std::string grid_file_sampler(const std::string& path) {
  if (!ends_with(path, ".yaml") && !ends_with(path, ".yml")) return "";
  try {
    const auto fitted = YAML::LoadFile(path)["sampler"];
    return fitted && fitted.IsScalar() ? fitted.as<std::string>() : "";
  } catch (const YAML::Exception&) {
    return "";
  }
}

namespace {

// A grid file of diffuse schedule (YAML), or InputError naming `option`.
YAML::Node load_grid_yaml(const std::string& path, const std::string& option) {
  require(std::ifstream(path).good(), option + ": cannot open '" + path +
                                          "' (expected a grid file of diffuse schedule)");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw InputError(option + " '" + path + "': " + e.what());
  }
}

// The numbers of the grid file's list `key` (empty when the file has no such key).
std::vector<double> grid_yaml_list(const YAML::Node& root, const std::string& key,
                                   const std::string& path, const std::string& option) {
  require(root.IsMap(), option + " '" + path + "': expected a YAML map with a `times:` list");
  if (!root[key]) return {};
  require(root[key].IsSequence(), option + " '" + path + "': `" + key + ":` is not a list");
  std::vector<double> values;
  try {
    for (const auto& node : root[key]) values.push_back(node.as<double>());
  } catch (const YAML::Exception&) {
    throw InputError(option + " '" + path + "': `" + key + ":` holds a non-number");
  }
  return values;
}

}  // namespace

std::vector<double> load_times_file(const std::string& path, const std::string& option) {
  if (ends_with(path, ".npy")) {
    const auto t = load_npy(path, 1).to(torch::kFloat64).contiguous();
    return {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()};
  }
  if (ends_with(path, ".yaml") || ends_with(path, ".yml")) {  // diffuse schedule's grid file
    const auto root = load_grid_yaml(path, option);
    require(root.IsMap() && root["times"], option + " '" + path +
                                               "': expected a YAML map with a `times:` list");
    const auto times = grid_yaml_list(root, "times", path, option);
    require(!times.empty(), option + " '" + path + "' holds no times");
    return times;
  }
  std::ifstream in(path);
  require(in.good(), option + ": cannot open '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  for (char& c : body)
    if (c == ',') c = ' ';
  std::istringstream words(body);
  std::vector<double> times;
  std::string word;
  while (words >> word) {
    std::size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    require(used == word.size(), option + " '" + path + "': '" + word +
                                     "' is not a number (expected times separated by white "
                                     "space or commas)");
    times.push_back(value);
  }
  require(!times.empty(), option + " '" + path + "' holds no times");
  return times;
}

std::vector<double> given_times(const SamplerConfig& config) {
  if (config.times_file.empty()) return config.times;
  require(config.times.empty(),
          "sampler.times and sampler.times_file are both set; give the grid one way");
  return load_times_file(config.times_file);
}

std::vector<double> load_eval_times_file(const std::string& path, const std::string& option) {
  if (!(ends_with(path, ".yaml") || ends_with(path, ".yml"))) return {};
  return grid_yaml_list(load_grid_yaml(path, option), "eval_times", path, option);
}

std::vector<double> given_eval_times(const SamplerConfig& config) {
  const auto& path = config.times_file;
  const auto from_file = path.empty() ? std::vector<double>{} : load_eval_times_file(path);
  require(from_file.empty() || config.eval_times.empty(),
          "sampler.eval_times and the eval_times of sampler.times_file '" + path +
              "' are both set; give them one way");
  return from_file.empty() ? config.eval_times : from_file;
}

const std::vector<std::string>& variance_preserving_kinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> out;
    for (const auto& kind : process_kinds()) {
      ProcessConfig config;
      config.kind = kind;
      if (make_process(config)->variance_preserving()) out.push_back(kind);
    }
    return out;
  }();
  return kinds;
}

bool transforms_x0(const SamplerConfig& config) {
  return config.clip_x0.has_value() || config.dynamic_threshold.has_value();
}

torch::Tensor transform_x0(const torch::Tensor& x0, const SamplerConfig& config) {
  if (!config.dynamic_threshold) {
    if (!config.clip_x0) return x0;
    return x0.clamp(-*config.clip_x0, *config.clip_x0);
  }
  // Imagen's dynamic thresholding: s is the p-quantile of |x0| over each sample, floored at c.
  const double c = config.clip_x0.value_or(1.0);
  const auto flat = x0.abs().reshape({x0.size(0), -1});
  const auto s = per_sample(torch::quantile(flat, *config.dynamic_threshold, 1).clamp_min(c), x0);
  return torch::max(torch::min(x0, s), -s) * (c / s);
}

PredictionTransform::PredictionTransform(const Denoiser& denoiser, const SamplerConfig& config)
    : denoiser_(denoiser) {
  if (!transforms_x0(config)) return;
  view_.emplace(std::make_shared<TransformedX0Model>(denoiser, config), denoiser.process_ptr());
}

}  // namespace diffuse
