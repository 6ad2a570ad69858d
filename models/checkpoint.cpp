#include "models/checkpoint.h"

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/errors.h"
#include "models/network_factory.h"

#include <c10/util/Exception.h>

#include <filesystem>
#include <set>
#include <sstream>

namespace diffuse {

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key,
                        const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString())
    throw InputError(path + ": not a diffuse checkpoint (no '" + key + "' entry)");
  return value.toStringRef();
}

// Tensors of one module level (not recursive) into `module`'s, checked.
void read_level(torch::serialize::InputArchive& archive, torch::nn::Module& module,
                const std::string& what, const std::string& prefix) {
  std::set<std::string> expected;
  const auto read_tensors = [&](auto&& named) {
    for (auto& item : named) {
      const std::string name = prefix + item.key();
      expected.insert(item.key());
      torch::Tensor saved;
      if (!archive.try_read(item.key(), saved) || !saved.defined())
        throw InputError(what + " has no '" + name +
                         "': the checkpoint holds another model kind or shape");
      if (!saved.sizes().equals(item.value().sizes()))
        throw InputError(what + ": '" + name + "' has shape " + shape_of(saved) +
                         " in the checkpoint but " + shape_of(item.value()) +
                         " in the model the config describes");
      torch::NoGradGuard no_grad;
      item.value().copy_(saved);
    }
  };
  read_tensors(module.named_parameters(/*recurse=*/false));
  read_tensors(module.named_buffers(/*recurse=*/false));
  for (const auto& child : module.named_children()) {
    expected.insert(child.key());
    torch::serialize::InputArchive nested;
    if (!archive.try_read(child.key(), nested))
      throw InputError(what + " has no '" + prefix + child.key() +
                       "': the checkpoint holds another model kind or shape");
    read_level(nested, *child.value(), what, prefix + child.key() + ".");
  }
  for (const auto& key : archive.keys())
    if (key != "training" && !expected.count(key))
      throw InputError(what + " has '" + prefix + key +
                       "', which the model the config describes lacks (another model kind?)");
}

}  // namespace

void open_checkpoint(const std::string& path, torch::serialize::InputArchive& archive,
                     const torch::Device& device) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError("checkpoint " + path + ": no such file");
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw InputError("checkpoint " + path + ": not a diffuse checkpoint (" +
                     e.what_without_backtrace() + ")");
  }
  const std::string format = read_string(archive, "format", path);
  if (format != kCheckpointFormat)
    throw InputError(path + ": checkpoint format '" + format + "', expected '" +
                     kCheckpointFormat + "'");
}

void save_archive_atomically(torch::serialize::OutputArchive& archive, const std::string& path) {
  // Serialised in memory first: LibTorch's zip writer throws again from its destructor when the
  // stream fails mid-way (a full disk), which would terminate the process instead of leaving
  // write_file_atomically to discard the temporary file and report the error.
  std::string bytes;
  archive.save_to([&bytes](const void* data, std::size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  ensure_parent_directory(path);
  write_file_atomically(path, bytes);
}

void write_header(torch::serialize::OutputArchive& archive, const CheckpointHeader& header) {
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("kind", c10::IValue(header.kind));
  archive.write("config", c10::IValue(header.config));
  archive.write("step", c10::IValue(header.step));
}

CheckpointHeader read_header(torch::serialize::InputArchive& archive, const std::string& path) {
  CheckpointHeader header;
  header.kind = read_string(archive, "kind", path);
  header.config = read_string(archive, "config", path);
  c10::IValue step;
  if (!archive.try_read("step", step) || !step.isInt())
    throw InputError(path + ": not a diffuse checkpoint (no 'step' entry)");
  header.step = step.toInt();
  return header;
}

void read_module_state(torch::serialize::InputArchive& archive, torch::nn::Module& module,
                       const std::string& what) {
  read_level(archive, module, what, "");
}

namespace {

YAML::Node parse_config(const CheckpointHeader& header, const std::string& path) {
  try {
    return YAML::Load(header.config);
  } catch (const YAML::Exception& e) {
    throw InputError(path + ": the checkpoint's config is not valid YAML: " + e.what());
  }
}

}  // namespace

YAML::Node read_checkpoint_config(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_checkpoint(path, archive);
  return parse_config(read_header(archive, path), path);
}

LoadedModel load_model(const std::string& path, const torch::TensorOptions& options, bool ema) {
  torch::serialize::InputArchive archive;
  open_checkpoint(path, archive);
  const CheckpointHeader header = read_header(archive, path);
  LoadedModel loaded;
  loaded.step = header.step;
  loaded.config = parse_config(header, path);
  loaded.process_config = config::load<ProcessConfig>(loaded.config["process"], "process");
  loaded.data = config::load<DataConfig>(loaded.config["data"], "data");
  loaded.model_config = config::load<ModelConfig>(loaded.config["model"], "model");
  if (loaded.model_config.kind != header.kind)
    throw InputError(path + ": holds a '" + header.kind + "' model but its config says '" +
                     loaded.model_config.kind + "'");
  loaded.process = make_process(loaded.process_config);
  loaded.model = make_network(loaded.model_config, loaded.process, options);
  const std::string part = ema ? "ema" : "model";
  torch::serialize::InputArchive weights;
  if (!archive.try_read(part, weights))
    throw InputError(path + ": not a diffuse checkpoint (no '" + part + "' weights)");
  read_module_state(weights, *loaded.model->module(), path + ": " + part);
  return loaded;
}

}  // namespace diffuse
