// Builds the ScoreModel a run config names (`model:` section). Today: the analytic oracle of a
// Gaussian-mixture data set; trained networks join this table as they arrive.
//
//   ScoreModelPtr model = make_model(config.model, process, config.data, options);
#pragma once

#include "core/config.h"
#include "core/mixture_config.h"
#include "core/process.h"
#include "models/score_model.h"

#include <string>
#include <vector>

namespace diffuse {

const std::vector<std::string>& model_kinds();

struct ModelConfig {
  std::string kind = "analytic";  // analytic: the exact score of the data's Gaussian mixture

  template <class V>
  void visit(V& v) {
    v("kind", kind, config::one_of(model_kinds()));
  }
};

// InputError when the model cannot be built from this data (e.g. analytic on two-moons).
ScoreModelPtr make_model(const ModelConfig& config, const ProcessPtr& process,
                         const DataConfig& data, const torch::TensorOptions& options);

}  // namespace diffuse
