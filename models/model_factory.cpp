#include "models/model_factory.h"

#include "core/base/errors.h"
#include "models/analytic.h"
#include "models/network_factory.h"
#include "models/torchscript.h"

namespace diffuse {

const std::vector<std::string>& model_kinds() {
  static const std::vector<std::string> kinds = {"analytic", "linear", "two-layer", "mlp",
                                                 "subspace", "torchscript"};
  return kinds;
}

ScoreModelPtr make_model(const ModelConfig& config, const ProcessPtr& process,
                         const DataConfig& data, const torch::TensorOptions& options) {
  if (config.kind == "analytic") {
    auto mixture = make_mixture(data);
    if (!mixture)
      throw InputError("model.kind = analytic needs data with an exact score (a Gaussian "
                       "mixture); data.kind = " + data.kind + " has none");
    return std::make_shared<AnalyticMixtureScore>(mixture->to(options), process);
  }
  if (config.kind == "torchscript")
    return load_torchscript_model(config, process, torchscript_data_shape(config, data), options);
  if (is_network_kind(config.kind))
    throw InputError("model.kind = " + config.kind + " is a trained network: train it with "
                     "`diffuse train` and pass its checkpoint with --model CHECKPOINT");
  throw InputError("model.kind = '" + config.kind + "' is not known");
}

}  // namespace diffuse
