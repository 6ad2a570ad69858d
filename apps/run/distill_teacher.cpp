#include "apps/run/distill_teacher.h"

#include "core/base/errors.h"
#include "models/checkpoint.h"
#include "models/network_factory.h"
#include "models/torchscript.h"

namespace diffuse {

namespace {

// A section the teacher fixes: taken from the teacher unless the config gives an equal one.
template <class Section>
void inherit(const char* name, Section& section, const Section& teacher, const YAML::Node& root,
             const std::string& path) {
  const bool given =
      (root.IsMap() && root[name]) || config::to_yaml(section) != config::to_yaml(Section{});
  if (given && config::to_yaml(section) != config::to_yaml(teacher))
    throw InputError(std::string("config: ") + name + " differs from the teacher " + path +
                     "'s (the ODE being distilled); leave it out or make it equal");
  section = teacher;
}

}  // namespace

ScoreModelPtr prepare_distillation(RunConfig& config, const YAML::Node& root,
                                   const torch::TensorOptions& options) {
  const std::string teacher = config.distill.teacher;
  require(!teacher.empty(),
          "distill.teacher is not set: expected --teacher CHECKPOINT (from "
          "diffuse train), --teacher MODULE.ts (TorchScript), --teacher analytic or "
          "--teacher none (consistency training)");
  ScoreModelPtr model;
  if (teacher == "analytic") {
    model = make_model(ModelConfig{}, make_process(config.process), config.data, options);
  } else if (is_torchscript_file(teacher)) {
    // A TorchScript score model (models/torchscript.h) under the config's process and data;
    // its attributes (diffuse export writes them) say what it predicts and its shape.
    ModelConfig module;
    module.kind = "torchscript";
    module.path = teacher;
    model = make_model(module, make_process(config.process), config.data, options);
  } else if (teacher != "none") {
    LoadedModel loaded = load_model(teacher, options);
    require(!loaded.model_config.consistency,
            teacher + " is a consistency model; a teacher is a score model of diffuse train");
    inherit("process", config.process, loaded.process_config, root, teacher);
    inherit("data", config.data, loaded.data, root, teacher);
    const bool own_model = root.IsMap() && root["model"] && config.model.kind != "analytic";
    if (!own_model) config.model = loaded.model_config;
    model = loaded.model;
  }
  require(is_network_kind(config.model.kind),
          "distill: model.kind = " + config.model.kind +
              " cannot be trained; the student needs "
              "a network kind (linear, two-layer, mlp, subspace)");
  config.model.consistency = true;
  if (config.sampler.name != "consistency") {
    config.sampler = SamplerConfig{};
    config.sampler.name = "consistency";
    config.sampler.steps = 1;
  }
  return model;
}

}  // namespace diffuse
