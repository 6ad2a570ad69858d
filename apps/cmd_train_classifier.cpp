// diffuse train-classifier: train the small CNN whose features and predictions `diffuse eval
// --classifier` measures image samples with; prints the test accuracy as JSON.
#include "apps/cli.h"
#include "apps/commands.h"
#include "core/base/errors.h"
#include "core/base/runtime.h"
#include "core/io/atomic_file.h"
#include "core/io/idx.h"
#include "models/classifier_checkpoint.h"
#include "train/classifier/classifier_training.h"

#include <filesystem>
#include <iostream>

namespace diffuse::cli {

namespace {

// The first `limit` images (0: all), for quick runs.
ImageDataset first(const ImageDataset& data, std::int64_t limit) {
  if (limit == 0 || limit >= data.size()) return data;
  ImageDataset out = data;
  out.images = data.images.slice(0, 0, limit);
  out.labels = data.labels.slice(0, 0, limit);
  out.source = data.source + " first " + std::to_string(limit);
  return out;
}

}  // namespace

int run_train_classifier(int argc, char** argv) {
  cxxopts::Options options(argv[0], "Train the image classifier of diffuse eval --classifier on "
                                    "MNIST-format data; writes a checkpoint and prints the test "
                                    "accuracy as JSON.");
  options.add_options()
      ("data", "folder of MNIST-format IDX files (train and t10k)",
       cxxopts::value<std::string>()->default_value(kDefaultImageDirectory))
      ("epochs", "passes over the training images",
       cxxopts::value<std::int64_t>()->default_value("3"))
      ("batch-size", "images per Adam step", cxxopts::value<std::int64_t>()->default_value("64"))
      ("lr", "Adam learning rate", cxxopts::value<double>()->default_value("0.001"))
      ("o,out", "checkpoint to write",
       cxxopts::value<std::string>()->default_value("runs/classifier/classifier.pt"))
      ("seed", "initial weights and batch order",
       cxxopts::value<std::int64_t>()->default_value("0"))
      ("threads", "LibTorch CPU threads", cxxopts::value<int>()->default_value("1"))
      ("device", "auto | cpu | cuda | cuda:N", cxxopts::value<std::string>()->default_value("auto"))
      ("limit", "use only the first N training and test images (0: all)",
       cxxopts::value<std::int64_t>()->default_value("0"))
      ("h,help", "show this help");
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  const auto positive = [&](const char* name, auto value) {
    require(value >= 1, std::string("train-classifier: --") + name + " must be >= 1, got " +
                            std::to_string(value));
    return value;
  };
  ClassifierTraining training;
  training.epochs = positive("epochs", args["epochs"].as<std::int64_t>());
  training.batch_size = positive("batch-size", args["batch-size"].as<std::int64_t>());
  training.lr = args["lr"].as<double>();
  const std::int64_t seed = args["seed"].as<std::int64_t>();
  require(seed >= 0, "train-classifier: --seed must be >= 0, got " + std::to_string(seed));
  training.seed = static_cast<std::uint64_t>(seed);
  const std::int64_t limit = args["limit"].as<std::int64_t>();
  require(limit >= 0, "train-classifier: --limit must be >= 0, got " + std::to_string(limit));
  const std::string out = args["out"].as<std::string>();
  require(!std::filesystem::is_directory(out),
          "train-classifier: --out " + out + " is a directory; expected a file path");
  set_threads(positive("threads", args["threads"].as<int>()));
  training.device = parse_device(args["device"].as<std::string>());
  const std::string folder = args["data"].as<std::string>();
  // Everything that can be wrong with the input fails here, before minutes of training.
  const ImageDataset train = first(load_idx_dataset(folder, "train"), limit);
  const ImageDataset test = first(load_idx_dataset(folder, "test"), limit);
  ensure_parent_directory(out);

  torch::manual_seed(training.seed);
  ImageClassifier net;
  const auto result = train_classifier(net, train, training);
  const double accuracy = classifier_accuracy(net, test);
  save_classifier(out, net, {folder, training.epochs, accuracy});
  std::cout << nlohmann::json{{"command", "train-classifier"},
                              {"checkpoint", out},
                              {"test_accuracy", accuracy},
                              {"test_count", test.size()},
                              {"train_count", train.size()},
                              {"epochs", training.epochs},
                              {"steps", result.steps},
                              {"train_loss", result.last_epoch_loss},
                              {"train_s", result.seconds},
                              {"data", folder}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace diffuse::cli
