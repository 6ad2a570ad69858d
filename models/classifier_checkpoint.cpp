#include "models/classifier_checkpoint.h"

#include "core/base/errors.h"
#include "models/checkpoint.h"

#include <c10/util/Exception.h>

#include <filesystem>

namespace diffuse {

namespace {

c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key,
                       const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(key, value))
    throw InputError(path + ": not a classifier checkpoint (no '" + key +
                     "' entry; expected one written by diffuse train-classifier)");
  return value;
}

std::int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key,
                      const std::string& path) {
  const auto value = read_value(archive, key, path);
  if (!value.isInt()) throw InputError(path + ": entry '" + key + "' is not an integer");
  return value.toInt();
}

}  // namespace

void save_classifier(const std::string& path, const ImageClassifier& net,
                     const ClassifierRecord& record) {
  torch::serialize::OutputArchive archive, weights;
  const auto& o = net->options();
  archive.write("format", c10::IValue(std::string(kClassifierFormat)));
  archive.write("channels1", c10::IValue(o.channels1));
  archive.write("channels2", c10::IValue(o.channels2));
  archive.write("hidden", c10::IValue(o.hidden));
  archive.write("classes", c10::IValue(o.classes));
  archive.write("data", c10::IValue(record.data));
  archive.write("epochs", c10::IValue(record.epochs));
  archive.write("test_accuracy", c10::IValue(record.test_accuracy));
  net->save(weights);
  archive.write("model", weights);
  save_archive_atomically(archive, path);
}

LoadedClassifier load_classifier(const std::string& path, const torch::Device& device) {
  if (!std::filesystem::is_regular_file(path))
    throw InputError("classifier checkpoint " + path +
                     ": no such file (train one with: diffuse train-classifier -o " + path + ")");
  check_archive_file(path, "classifier checkpoint");  // LibTorch does not check the CRC-32s
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw InputError(path + ": not a classifier checkpoint (" + e.what_without_backtrace() + ")");
  }
  const auto format = read_value(archive, "format", path);
  if (!format.isString() || format.toStringRef() != kClassifierFormat)
    throw InputError(path + ": checkpoint format '" +
                     (format.isString() ? format.toStringRef() : std::string("?")) +
                     "', expected '" + kClassifierFormat + "' (a diffuse train-classifier output)");
  ClassifierOptions options;
  options.channels1 = read_int(archive, "channels1", path);
  options.channels2 = read_int(archive, "channels2", path);
  options.hidden = read_int(archive, "hidden", path);
  options.classes = read_int(archive, "classes", path);
  LoadedClassifier loaded;
  loaded.net = ImageClassifier(options);
  loaded.net->to(device);
  torch::serialize::InputArchive weights;
  if (!archive.try_read("model", weights))
    throw InputError(path + ": not a classifier checkpoint (no 'model' weights)");
  read_module_state(weights, *loaded.net, path + ": model");
  loaded.net->eval();
  const auto data = read_value(archive, "data", path);
  loaded.record.data = data.isString() ? data.toStringRef() : "";
  loaded.record.epochs = read_int(archive, "epochs", path);
  const auto accuracy = read_value(archive, "test_accuracy", path);
  loaded.record.test_accuracy = accuracy.isDouble() ? accuracy.toDouble() : 0.0;
  return loaded;
}

}  // namespace diffuse
