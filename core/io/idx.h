// MNIST-format (IDX) image data: `*-images-idx3-ubyte` and `*-labels-idx1-ubyte`,
// gzip-compressed or not (zlib reads both). Format (LeCun's MNIST page): a big-endian magic
// 0x00000803 (images) or 0x00000801 (labels), then big-endian uint32 sizes (n, rows, cols or
// n), then unsigned bytes. Every size and length is checked; a bad file is an InputError naming
// the file and what was expected.
//
//   ImageDataset train = load_idx_dataset(kDefaultImageDirectory, "train");  // 60000 x 784
//   ImageDataset shoes = first_n_per_class(select_classes(train, {7}), 10);  // few-shot
//   // train.images: [n, rows * cols] float32 in [-1, 1]; train.labels: [n] int64
//
// Debian's dataset-fashion-mnist package ships Fashion-MNIST as train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in
// kDefaultImageDirectory; any directory holding MNIST-format files works the same way.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace diffuse {

inline constexpr const char* kDefaultImageDirectory = "/usr/share/datasets/fashion-mnist";

struct ImageDataset {
  torch::Tensor images;  // [n, rows * cols] float32, pixel / 127.5 - 1
  torch::Tensor labels;  // [n] int64
  std::int64_t rows = 0, cols = 0;
  std::string source;  // where it came from, for logs

  std::int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// The raw files: images [n, rows, cols] uint8, labels [n] int64.
torch::Tensor read_idx_images(const std::string& path);
torch::Tensor read_idx_labels(const std::string& path);

// The file of a split ("train" or "test", i.e. t10k) and kind ("images" or "labels") in a
// directory: <prefix>-<kind>-idx{3,1}-ubyte, also with .gz and with '.' before idx.
std::string find_idx_file(const std::string& directory, const std::string& split,
                          const std::string& kind);

// Images and labels of a split, scaled and flattened; InputError when the counts disagree.
ImageDataset load_idx_dataset(const std::string& directory = kDefaultImageDirectory,
                              const std::string& split = "train");

// The images whose label is one of `classes`, in data-set order; InputError for a class with
// no image.
ImageDataset select_classes(const ImageDataset& data, const std::vector<std::int64_t>& classes);

// The first n images of every class present, in data-set order; InputError when a class has
// fewer than n.
ImageDataset first_n_per_class(const ImageDataset& data, std::int64_t n);

}  // namespace diffuse
