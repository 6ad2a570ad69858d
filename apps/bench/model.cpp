#include "apps/bench/model.h"

#include "core/base/runtime.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "models/network_factory.h"

namespace diffuse {

namespace {

// Small enough to keep a residual network's activations O(1), large enough to matter.
constexpr double kZeroLayerStd = 0.02;

void fill_zero_parameters(torch::nn::Module& module, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto generator = make_generator(seed);
  for (auto& p : module.parameters())
    if (!p.any().item<bool>())
      p.copy_(torch::randn(p.sizes(), generator, p.options().device(torch::kCPU)) * kZeroLayerStd);
}

std::unique_ptr<Trainer> make_trainer(const RunConfig& config, const RunContext& run) {
  return std::make_unique<Trainer>(
      TrainSetup{config::to_node(config), static_cast<std::uint64_t>(config.seed), config.process,
                 config.data, config.model, config.train, run.options()});
}

}  // namespace

BenchModel make_bench_model(const RunConfig& config, const std::string& checkpoint,
                            const RunContext& run) {
  BenchModel bench;
  bench.process_config = config.process;
  if (!is_network_kind(config.model.kind)) {
    bench.process = make_process(config.process);
    bench.model = make_model(config.model, bench.process, config.data, run.options());
    bench.model_config = config.model;
    bench.source = config.model.kind == "torchscript"
                       ? "TorchScript module " + config.model.path
                       : "analytic score of the data's mixture";
    bench.no_training = "model.kind = " + config.model.kind + " has no weights to train";
    return bench;
  }
  if (config.model.consistency)
    bench.no_training = "a consistency model is trained by `diffuse distill`, not timed here";
  else
    bench.trainer = make_trainer(config, run);
  if (!checkpoint.empty()) {
    LoadedModel loaded = load_model(checkpoint, run.options());
    bench.network = loaded.model;
    bench.process = loaded.process;
    bench.process_config = loaded.process_config;
    bench.model_config = loaded.model_config;
    bench.source =
        "checkpoint " + checkpoint + " (EMA weights, step " + std::to_string(loaded.step) + ")";
  } else {
    if (!bench.trainer) bench.trainer = make_trainer(config, run);  // builds the network
    bench.network = bench.trainer->ema_model();
    bench.process = bench.trainer->process();
    const YAML::Node resolved = YAML::Load(bench.trainer->config_yaml());
    bench.model_config = config::load<ModelConfig>(resolved["model"], "model");
    fill_zero_parameters(*bench.network->module(), static_cast<std::uint64_t>(config.seed));
    bench.source = "initialised from seed " + std::to_string(config.seed) +
                   " (zero-initialised layers filled with N(0, 0.02^2))";
  }
  bench.model = bench.network;
  return bench;
}

}  // namespace diffuse
