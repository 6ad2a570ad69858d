#include "core/io/idx.h"

#include "core/base/errors.h"

#include <zlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <vector>

namespace diffuse {

namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
// Guards against a corrupted header asking for absurd allocations (MNIST is 47 MB raw).
constexpr std::int64_t kMaxBytes = std::int64_t{1} << 34;

std::string hex(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// A gzip or plain file (gzread passes plain files through), closed on scope exit.
class IdxFile {
 public:
  explicit IdxFile(std::string path) : path_(std::move(path)) {
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) fail("cannot open it (no such file or not readable)");
  }
  ~IdxFile() {
    if (file_ != nullptr) gzclose(file_);
  }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError("IDX file '" + path_ + "': " + what);
  }

  // Reads up to `size` bytes of `what`; fewer only at the end of the file. InputError for
  // corrupted data.
  std::int64_t read_up_to(void* buffer, std::int64_t size, const std::string& what) {
    auto* out = static_cast<unsigned char*>(buffer);
    std::int64_t done = 0;
    while (done < size) {
      const auto chunk = static_cast<unsigned>(std::min<std::int64_t>(size - done, 1 << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        fail(std::string("corrupted data (zlib: ") + gzerror(file_, &code) + ") while reading " +
             what);
      }
      if (got == 0) break;
      done += got;
    }
    return done;
  }

  [[noreturn]] void truncated(std::int64_t size, std::int64_t found, const std::string& what) {
    fail("truncated: expected " + std::to_string(size) + " bytes of " + what + ", found " +
         std::to_string(found));
  }

  // Reads exactly `size` bytes of `what`, else InputError (truncated or corrupted).
  void read_exact(void* buffer, std::int64_t size, const std::string& what) {
    const std::int64_t found = read_up_to(buffer, size, what);
    if (found < size) truncated(size, found, what);
  }

  // The payload of `size` bytes as a uint8 tensor [size], allocated as the bytes arrive (64 MiB
  // at a time): a header that declares more than the file holds is a truncation error, not an
  // allocation of what it declares (found by fuzzing: a 48-byte file asked for 9.7 GB).
  torch::Tensor read_payload(std::int64_t size, const std::string& what) {
    constexpr std::int64_t kChunk = std::int64_t{1} << 26;
    std::vector<torch::Tensor> chunks;
    for (std::int64_t done = 0; done < size;) {
      auto chunk = torch::empty({std::min(size - done, kChunk)}, torch::kUInt8);
      const std::int64_t found = read_up_to(chunk.data_ptr<std::uint8_t>(), chunk.numel(), what);
      if (found < chunk.numel()) truncated(size, done + found, what);
      chunks.push_back(chunk);
      done += found;
    }
    if (chunks.empty()) return torch::empty({0}, torch::kUInt8);
    return chunks.size() == 1 ? chunks.front() : torch::cat(chunks);
  }

  std::uint32_t read_u32(const std::string& what) {
    std::array<unsigned char, 4> b{};
    read_exact(b.data(), 4, what);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
  }

  void expect_magic(std::uint32_t expected, const std::string& kind) {
    const std::uint32_t magic = read_u32("the magic number");
    if (magic != expected)
      fail("bad magic number " + hex(magic) + ", expected " + hex(expected) + " (" + kind + ")");
  }

  // After the payload: nothing may follow, or the header's count was wrong.
  void expect_end(std::int64_t count) {
    unsigned char extra = 0;
    const int got = gzread(file_, &extra, 1);
    if (got != 0)
      fail("more data than the " + std::to_string(count) +
           " items its header declares (wrong count in the header?)");
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

ImageDataset make_dataset(torch::Tensor images, torch::Tensor labels, std::int64_t rows,
                          std::int64_t cols, std::string source) {
  ImageDataset data;
  data.images = std::move(images);
  data.labels = std::move(labels);
  data.rows = rows;
  data.cols = cols;
  data.source = std::move(source);
  return data;
}

ImageDataset subset(const ImageDataset& data, const torch::Tensor& index, const std::string& what) {
  return make_dataset(data.images.index_select(0, index), data.labels.index_select(0, index),
                      data.rows, data.cols, data.source + " " + what);
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  IdxFile file(path);
  file.expect_magic(kImagesMagic, "an IDX image file of unsigned bytes, 3 dimensions");
  const std::int64_t n = file.read_u32("the image count");
  const std::int64_t rows = file.read_u32("the row count");
  const std::int64_t cols = file.read_u32("the column count");
  if (rows < 1 || cols < 1 || rows > 65536 || cols > 65536)
    file.fail("image size " + std::to_string(rows) + " x " + std::to_string(cols) +
              " in the header; expected rows and columns in [1, 65536]");
  if (n > kMaxBytes / (rows * cols))
    file.fail("header declares " + std::to_string(n) + " images of " + std::to_string(rows) +
              " x " + std::to_string(cols) + ", implausibly large (corrupted header?)");
  const auto images = file.read_payload(n * rows * cols, std::to_string(n) + " images of " +
                                                            std::to_string(rows) + " x " +
                                                            std::to_string(cols) + " pixels");
  file.expect_end(n);
  return images.reshape({n, rows, cols});
}

torch::Tensor read_idx_labels(const std::string& path) {
  IdxFile file(path);
  file.expect_magic(kLabelsMagic, "an IDX label file of unsigned bytes, 1 dimension");
  const std::int64_t n = file.read_u32("the label count");
  if (n > kMaxBytes) file.fail("header declares an implausible " + std::to_string(n) + " labels");
  const auto labels = file.read_payload(n, std::to_string(n) + " labels");
  file.expect_end(n);
  return labels.to(torch::kInt64);
}

std::string find_idx_file(const std::string& directory, const std::string& split,
                          const std::string& kind) {
  require(split == "train" || split == "test",
          "IDX data: split must be 'train' or 'test', got '" + split + "'");
  require(kind == "images" || kind == "labels",
          "IDX data: kind must be 'images' or 'labels', got '" + kind + "'");
  namespace fs = std::filesystem;
  if (!fs::is_directory(directory))
    throw InputError("IDX data: '" + directory + "' is not a directory" +
                     (directory == kDefaultImageDirectory
                          ? " (install Fashion-MNIST with: apt-get install dataset-fashion-mnist)"
                          : ""));
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string idx = kind == "images" ? "idx3-ubyte" : "idx1-ubyte";
  std::string tried;
  for (const std::string sep : {"-", "."}) {
    for (const std::string ext : {"", ".gz"}) {
      const std::string name = prefix + "-" + kind + sep + idx + ext;
      const fs::path candidate = fs::path(directory) / name;
      if (fs::is_regular_file(candidate)) return candidate.string();
      tried += (tried.empty() ? "" : ", ") + name;
    }
  }
  throw InputError("IDX data: no " + split + " " + kind + " file in '" + directory +
                   "' (looked for " + tried + ")");
}

ImageDataset load_idx_dataset(const std::string& directory, const std::string& split) {
  const std::string images_path = find_idx_file(directory, split, "images");
  const std::string labels_path = find_idx_file(directory, split, "labels");
  const auto images = read_idx_images(images_path);
  const auto labels = read_idx_labels(labels_path);
  if (images.size(0) != labels.size(0))
    throw InputError("IDX data: '" + images_path + "' holds " + std::to_string(images.size(0)) +
                     " images but '" + labels_path + "' holds " + std::to_string(labels.size(0)) +
                     " labels; expected equal counts");
  const std::int64_t rows = images.size(1), cols = images.size(2);
  // Pixels 0..255 -> [-1, 1].
  auto scaled = images.reshape({images.size(0), rows * cols}).to(torch::kFloat32) / 127.5 - 1.0;
  return make_dataset(scaled, labels, rows, cols, directory + " (" + split + ")");
}

ImageDataset select_classes(const ImageDataset& data, const std::vector<std::int64_t>& classes) {
  require(!classes.empty(), "select_classes: no classes given");
  auto keep = torch::zeros({data.size()}, torch::kBool);
  std::string names;
  for (const auto c : classes) {
    const auto match = data.labels == c;
    if (!match.any().item<bool>())
      throw InputError("select_classes: no image of class " + std::to_string(c) + " in " +
                       data.source);
    keep = keep.logical_or(match);
    names += (names.empty() ? "" : ",") + std::to_string(c);
  }
  return subset(data, keep.nonzero().reshape({-1}), "classes " + names);
}

ImageDataset first_n_per_class(const ImageDataset& data, std::int64_t n) {
  require(n >= 1, "first_n_per_class: n must be >= 1, got " + std::to_string(n));
  const auto labels = data.labels.contiguous();
  const auto* label = labels.data_ptr<std::int64_t>();
  std::map<std::int64_t, std::int64_t> taken;
  std::vector<std::int64_t> index;
  for (std::int64_t i = 0; i < data.size(); ++i) {
    if (taken[label[i]]++ < n) index.push_back(i);
  }
  for (const auto& [c, count] : taken) {
    if (count < n)
      throw InputError("first_n_per_class: class " + std::to_string(c) + " has only " +
                       std::to_string(count) + " images in " + data.source + ", asked for " +
                       std::to_string(n));
  }
  return subset(data, torch::tensor(index, torch::kInt64),
                "first " + std::to_string(n) + " per class");
}

}  // namespace diffuse
