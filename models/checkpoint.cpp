#include "models/checkpoint.h"

#include "core/base/config.h"
#include "core/base/errors.h"
#include "core/io/atomic_file.h"
#include "models/network_factory.h"

#include <c10/util/Exception.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

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

// --- the zip container's own checksums ---------------------------------------------------------
// LibTorch's zip reader skips the CRC-32 of every record (miniz is built without its checks), so
// a flipped byte in a tensor loads as a silently different weight. The writer stores the
// CRC-32s; reading them back here turns a damaged file into an error.

std::uint64_t little_endian(const unsigned char* p, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

class ZipFile {
 public:
  ZipFile(const std::string& path, std::string what) : path_(path), what_(std::move(what)) {
    in_.open(path, std::ios::binary);
    if (!in_) damaged("cannot open it");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<std::uint64_t>(in_.tellg());
  }

  [[noreturn]] void damaged(const std::string& detail) const {
    throw InputError(what_ + " " + path_ + ": not a readable diffuse checkpoint (" + detail +
                     "; expected a checkpoint.pt written whole by diffuse)");
  }

  std::vector<unsigned char> read(std::uint64_t offset, std::uint64_t size) {
    if (offset > size_ || size > size_ - offset)
      damaged("truncated: a record at byte " + std::to_string(offset) + " runs past the end (" +
              std::to_string(size_) + " bytes)");
    std::vector<unsigned char> bytes(size);
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (!in_) damaged("read error at byte " + std::to_string(offset));
    return bytes;
  }

  // The CRC-32 of `size` bytes from `offset`, read in slices.
  std::uint32_t crc(std::uint64_t offset, std::uint64_t size) {
    if (offset > size_ || size > size_ - offset) damaged("truncated: a record runs past the end");
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    std::vector<char> buffer(std::size_t{1} << 20);
    uLong value = crc32_z(0L, Z_NULL, 0);
    while (size > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size, buffer.size()));
      in_.read(buffer.data(), static_cast<std::streamsize>(n));
      if (!in_) damaged("read error at byte " + std::to_string(offset));
      value = crc32_z(value, reinterpret_cast<const Bytef*>(buffer.data()), n);
      size -= n;
    }
    return static_cast<std::uint32_t>(value);
  }

  std::uint64_t size() const { return size_; }

 private:
  std::string path_, what_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

constexpr std::uint32_t kEndOfDirectory = 0x06054b50, kZip64End = 0x06064b50,
                        kZip64Locator = 0x07064b50, kDirectoryEntry = 0x02014b50,
                        kLocalHeader = 0x04034b50;

void check_zip_records(const std::string& path, const std::string& what) {
  ZipFile zip(path, what);
  if (zip.size() < 22 || little_endian(zip.read(0, 4).data(), 4) != kLocalHeader)
    throw InputError(what + " " + path + ": not a diffuse checkpoint (not a zip archive; " +
                     "expected a checkpoint.pt written by diffuse)");
  // The end-of-directory record is the last 22 bytes plus a comment of at most 65535.
  const std::uint64_t tail_size = std::min<std::uint64_t>(zip.size(), 22 + 65535);
  const auto tail = zip.read(zip.size() - tail_size, tail_size);
  std::int64_t end = -1;
  for (std::int64_t i = static_cast<std::int64_t>(tail_size) - 22; i >= 0 && end < 0; --i)
    if (little_endian(&tail[i], 4) == kEndOfDirectory) end = i;
  if (end < 0) zip.damaged("truncated: no zip directory at its end");
  const std::uint64_t end_offset = zip.size() - tail_size + static_cast<std::uint64_t>(end);
  std::uint64_t entries = little_endian(&tail[end + 10], 2);
  std::uint64_t directory_size = little_endian(&tail[end + 12], 4);
  std::uint64_t directory = little_endian(&tail[end + 16], 4);
  if (entries == 0xFFFF || directory_size == 0xFFFFFFFF || directory == 0xFFFFFFFF) {
    if (end_offset < 20) zip.damaged("a zip64 archive without its zip64 locator");
    const auto locator = zip.read(end_offset - 20, 20);
    if (little_endian(locator.data(), 4) != kZip64Locator)
      zip.damaged("a zip64 archive without its zip64 locator");
    const auto record = zip.read(little_endian(&locator[8], 8), 56);
    if (little_endian(record.data(), 4) != kZip64End) zip.damaged("a damaged zip64 directory");
    entries = little_endian(&record[32], 8);
    directory_size = little_endian(&record[40], 8);
    directory = little_endian(&record[48], 8);
  }
  const auto listing = zip.read(directory, directory_size);
  std::uint64_t at = 0;
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (at + 46 > listing.size() || little_endian(&listing[at], 4) != kDirectoryEntry)
      zip.damaged("its zip directory is damaged at entry " + std::to_string(i));
    const unsigned char* entry = &listing[at];
    const auto method = little_endian(entry + 10, 2);
    const auto expected = static_cast<std::uint32_t>(little_endian(entry + 16, 4));
    std::uint64_t stored = little_endian(entry + 20, 4);
    std::uint64_t header = little_endian(entry + 42, 4);
    const auto name_size = little_endian(entry + 28, 2), extra_size = little_endian(entry + 30, 2),
               comment_size = little_endian(entry + 32, 2);
    if (at + 46 + name_size + extra_size + comment_size > listing.size())
      zip.damaged("its zip directory is damaged at entry " + std::to_string(i));
    const std::string name(reinterpret_cast<const char*>(entry + 46), name_size);
    // Zip64 sizes and offsets live in extra field 0x0001, in this order, when the 32-bit ones
    // are saturated.
    const bool uncompressed_saturated = little_endian(entry + 24, 4) == 0xFFFFFFFF;
    for (std::uint64_t e = 0; e + 4 <= extra_size;) {
      const unsigned char* field = entry + 46 + name_size + e;
      const auto id = little_endian(field, 2), length = little_endian(field + 2, 2);
      if (e + 4 + length > extra_size) break;
      if (id == 0x0001) {
        std::uint64_t k = 4;
        if (uncompressed_saturated && k + 8 <= 4 + length) k += 8;
        if (stored == 0xFFFFFFFF && k + 8 <= 4 + length) stored = little_endian(field + k, 8), k += 8;
        if (header == 0xFFFFFFFF && k + 8 <= 4 + length) header = little_endian(field + k, 8);
      }
      e += 4 + length;
    }
    at += 46 + name_size + extra_size + comment_size;
    if (method != 0) continue;  // compressed: LibTorch never writes these; its reader decides
    const auto local = zip.read(header, 30);
    if (little_endian(local.data(), 4) != kLocalHeader)
      zip.damaged("record '" + name + "' is not where the zip directory says");
    const std::uint64_t data = header + 30 + little_endian(&local[26], 2) +
                               little_endian(&local[28], 2);
    if (zip.crc(data, stored) != expected)
      zip.damaged("damaged: record '" + name + "' fails its CRC-32 check");
  }
}

}  // namespace

void check_archive_file(const std::string& path, const std::string& what) {
  check_zip_records(path, what);
}

void open_checkpoint(const std::string& path, torch::serialize::InputArchive& archive,
                     const torch::Device& device) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError("checkpoint " + path + ": no such file");
  check_archive_file(path, "checkpoint");
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw InputError("checkpoint " + path + ": not a diffuse checkpoint (" +
                     e.what_without_backtrace() + ")");
  } catch (const std::exception& e) {
    throw InputError("checkpoint " + path + ": not a diffuse checkpoint (" + e.what() + ")");
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
  if (header.step < 0)
    throw InputError(path + ": checkpoint step " + std::to_string(header.step) +
                     " is negative; expected the number of training steps taken (>= 0)");
  return header;
}

void read_module_state(torch::serialize::InputArchive& archive, torch::nn::Module& module,
                       const std::string& what) {
  read_level(archive, module, what, "");
}

namespace {

YAML::Node parse_config(const CheckpointHeader& header, const std::string& path) {
  YAML::Node config;
  try {
    config = YAML::Load(header.config);
  } catch (const YAML::Exception& e) {
    throw InputError(path + ": the checkpoint's config is not valid YAML: " + e.what());
  }
  // Without these checks a missing model section would load as the defaults and fail later as
  // a confusing shape mismatch (or, not a map, as a YAML exception).
  if (!config.IsMap())
    throw InputError(path + ": the checkpoint's config is not a mapping of sections; expected "
                     "the run config diffuse saved with the network");
  const YAML::Node& model = static_cast<const YAML::Node&>(config)["model"];
  if (!model || !model.IsMap())
    throw InputError(path + ": the checkpoint's config has no 'model' section; expected the " +
                     "model config the network was built from");
  return config;
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
  try {
    loaded.process_config = config::load<ProcessConfig>(loaded.config["process"], "process");
    loaded.data = config::load<DataConfig>(loaded.config["data"], "data");
    loaded.model_config = config::load<ModelConfig>(loaded.config["model"], "model");
  } catch (const InputError& e) {
    throw InputError(path + ": the checkpoint's " + e.what());  // "config: model.width = ..."
  }
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
