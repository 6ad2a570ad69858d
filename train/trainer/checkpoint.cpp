#include "train/trainer/checkpoint.h"

#include "core/base/errors.h"
#include "models/checkpoint.h"

#include <c10/util/Exception.h>

namespace diffuse {

void save_training_checkpoint(const std::string& path, const TrainingState& s) {
  torch::serialize::OutputArchive archive;
  write_header(archive, {s.model.kind(), s.config_yaml, s.step});
  torch::serialize::OutputArchive model, ema, optimizer, rng;
  s.model.module()->save(model);
  s.ema.model()->module()->save(ema);
  s.optimizer.save(optimizer);
  rng.write("seed", c10::IValue(static_cast<std::int64_t>(s.seed)));
  rng.write("scheme", c10::IValue(std::string("per-step: splitmix64(seed, step, stream)")));
  archive.write("model", model);
  archive.write("ema", ema);
  archive.write("optimizer", optimizer);
  archive.write("rng", rng);
  for (const auto& [name, module] : s.extra) {
    torch::serialize::OutputArchive nested;
    module->save(nested);
    archive.write(name, nested);
  }
  save_archive_atomically(archive, path);
}

std::int64_t load_training_checkpoint(const std::string& path, NetworkModel& model, Ema& ema,
                                      torch::optim::Optimizer& optimizer, std::uint64_t seed,
                                      const NamedModules& extra) {
  // On the training device: the optimiser's state tensors are used as they are read.
  torch::serialize::InputArchive archive;
  open_checkpoint(path, archive, model.module()->parameters().front().device());
  const CheckpointHeader header = read_header(archive, path);
  if (header.kind != model.kind())
    throw InputError("checkpoint " + path + " holds a '" + header.kind +
                     "' model; the config asks for model.kind = " + model.kind());
  torch::serialize::InputArchive weights, averaged, state, rng;
  const auto part = [&](const std::string& key, torch::serialize::InputArchive& nested) {
    if (!archive.try_read(key, nested))
      throw InputError(path + ": not a training checkpoint (no '" + key + "' entry)");
  };
  part("model", weights);
  part("ema", averaged);
  part("optimizer", state);
  part("rng", rng);
  read_module_state(weights, *model.module(), path + ": model");
  read_module_state(averaged, *ema.model()->module(), path + ": ema");
  for (const auto& [name, module] : extra) {
    torch::serialize::InputArchive nested;
    part(name, nested);
    read_module_state(nested, *module, path + ": " + name);
  }
  c10::IValue saved_seed;
  if (!rng.try_read("seed", saved_seed) || !saved_seed.isInt())
    throw InputError(path + ": not a training checkpoint (no integer 'rng.seed' entry)");
  if (static_cast<std::uint64_t>(saved_seed.toInt()) != seed)
    throw InputError(path + ": written with seed " + std::to_string(saved_seed.toInt()) +
                     ", but the config's seed is " + std::to_string(seed) +
                     "; a resumed run must keep its seed");
  try {
    optimizer.load(state);
  } catch (const c10::Error& e) {
    throw InputError(path + ": its optimiser state does not fit the config's optimiser (" +
                     std::string(e.what_without_backtrace()) + ")");
  }
  return header.step;
}

}  // namespace diffuse
