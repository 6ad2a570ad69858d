// IDX loader: small hand-made files (plain and gzip), corrupt files rejected with the file's
// name, class selection, and the real Fashion-MNIST when Debian's package is installed.
#include "core/base/errors.h"
#include "core/io/idx.h"
#include "tests/temp_dir.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace diffuse {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

void put_u32(Bytes& out, uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<unsigned char>(v >> shift));
}

Bytes image_file(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                 const Bytes& pixels) {
  Bytes out;
  put_u32(out, magic);
  put_u32(out, count);
  put_u32(out, rows);
  put_u32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

Bytes label_file(uint32_t magic, uint32_t count, const Bytes& labels) {
  Bytes out;
  put_u32(out, magic);
  put_u32(out, count);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

void write_plain(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(file);
}

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 5 images of 3 x 4: pixel j of image i is (i * 12 + j) * 4 (so 0 and 236 appear).
    for (int i = 0; i < 5 * 12; ++i) pixels_.push_back(static_cast<unsigned char>(i * 4));
    labels_ = {3, 1, 3, 0, 1};
  }
  // Expects an InputError whose message names `file` and contains `what`.
  void expect_rejected(const std::function<void()>& f, const fs::path& file,
                       const std::string& what) {
    try {
      f();
      FAIL() << "expected an InputError for " << file;
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(file.filename().string()), std::string::npos) << message;
      EXPECT_NE(message.find(what), std::string::npos) << message;
    }
  }

  testing::TempDir scratch_;
  const fs::path dir_ = scratch_.path();
  Bytes pixels_, labels_;
};

TEST_F(IdxTest, ReadsPlainAndGzipFiles) {
  write_plain(dir_ / "train-images-idx3-ubyte", image_file(0x803, 5, 3, 4, pixels_));
  write_plain(dir_ / "train-labels-idx1-ubyte", label_file(0x801, 5, labels_));
  write_gzip(dir_ / "t10k-images-idx3-ubyte.gz", image_file(0x803, 5, 3, 4, pixels_));
  write_gzip(dir_ / "t10k-labels-idx1-ubyte.gz", label_file(0x801, 5, labels_));
  for (const std::string split : {"train", "test"}) {
    const auto data = load_idx_dataset(dir_.string(), split);
    ASSERT_EQ(data.size(), 5);
    EXPECT_EQ(data.rows, 3);
    EXPECT_EQ(data.cols, 4);
    EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{5, 12}));
    EXPECT_EQ(data.images.dtype(), torch::kFloat32);
    EXPECT_EQ(data.labels.dtype(), torch::kInt64);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(data.labels[i].item<int64_t>(), labels_[i]);
      for (int j = 0; j < 12; ++j)
        EXPECT_FLOAT_EQ(data.images[i][j].item<float>(), pixels_[i * 12 + j] / 127.5f - 1.0f);
    }
  }
  const auto raw = read_idx_images((dir_ / "train-images-idx3-ubyte").string());
  EXPECT_EQ(raw.sizes(), (std::vector<int64_t>{5, 3, 4}));
  EXPECT_EQ(raw[4][2][3].item<uint8_t>(), pixels_[59]);
}

TEST_F(IdxTest, PixelRangeMapsToMinusOneOne) {
  write_plain(dir_ / "train-images-idx3-ubyte", image_file(0x803, 1, 1, 2, {0, 255}));
  write_plain(dir_ / "train-labels-idx1-ubyte", label_file(0x801, 1, {7}));
  const auto data = load_idx_dataset(dir_.string(), "train");
  EXPECT_FLOAT_EQ(data.images[0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(data.images[0][1].item<float>(), 1.0f);
}

TEST_F(IdxTest, RejectsBadMagic) {
  const auto images = dir_ / "bad-images-idx3-ubyte";
  write_plain(images, image_file(0x801, 5, 3, 4, pixels_));
  expect_rejected([&] { read_idx_images(images.string()); }, images, "magic");
  const auto labels = dir_ / "bad-labels-idx1-ubyte.gz";
  write_gzip(labels, label_file(0x803, 5, labels_));
  expect_rejected([&] { read_idx_labels(labels.string()); }, labels, "magic");
}

TEST_F(IdxTest, RejectsWrongCounts) {
  // Header says 6 images, the file holds 5: truncated.
  const auto more = dir_ / "more-images-idx3-ubyte";
  write_plain(more, image_file(0x803, 6, 3, 4, pixels_));
  expect_rejected([&] { read_idx_images(more.string()); }, more, "truncated");
  // Header says 4 labels, the file holds 5: extra data.
  const auto fewer = dir_ / "fewer-labels-idx1-ubyte";
  write_plain(fewer, label_file(0x801, 4, labels_));
  expect_rejected([&] { read_idx_labels(fewer.string()); }, fewer, "count");
  // Images and labels disagree: the error names both files.
  write_plain(dir_ / "train-images-idx3-ubyte", image_file(0x803, 5, 3, 4, pixels_));
  write_plain(dir_ / "train-labels-idx1-ubyte", label_file(0x801, 4, {1, 2, 3, 4}));
  expect_rejected([&] { load_idx_dataset(dir_.string(), "train"); },
                  dir_ / "train-labels-idx1-ubyte", "train-images-idx3-ubyte");
}

TEST_F(IdxTest, RejectsTruncatedFiles) {
  auto bytes = image_file(0x803, 5, 3, 4, pixels_);
  const auto plain = dir_ / "cut-images-idx3-ubyte";
  write_plain(plain, Bytes(bytes.begin(), bytes.end() - 7));
  expect_rejected([&] { read_idx_images(plain.string()); }, plain, "truncated");
  const auto header = dir_ / "header-images-idx3-ubyte";
  write_plain(header, Bytes(bytes.begin(), bytes.begin() + 6));
  expect_rejected([&] { read_idx_images(header.string()); }, header, "truncated");
  // A gzip stream cut short.
  const auto full = dir_ / "whole-images-idx3-ubyte.gz";
  write_gzip(full, bytes);
  std::ifstream in(full, std::ios::binary);
  Bytes gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto cut = dir_ / "cut-images-idx3-ubyte.gz";
  write_plain(cut, Bytes(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
  expect_rejected([&] { read_idx_images(cut.string()); }, cut, "IDX file");
}

TEST_F(IdxTest, MissingFilesAreNamed) {
  expect_rejected([&] { load_idx_dataset(dir_.string(), "train"); }, "train-images-idx3-ubyte.gz",
                  "no train images file");
  expect_rejected([&] { read_idx_images((dir_ / "absent").string()); }, "absent", "cannot open");
  EXPECT_THROW(load_idx_dataset((dir_ / "no-such-dir").string(), "train"), InputError);
  EXPECT_THROW(load_idx_dataset(dir_.string(), "validation"), InputError);
}

TEST_F(IdxTest, SelectsClassesAndFirstPerClass) {
  ImageDataset data;
  data.images = torch::arange(7, torch::kFloat32).unsqueeze(1);
  data.labels = torch::tensor({0, 1, 2, 1, 0, 2, 1}, torch::kInt64);
  data.rows = data.cols = 1;
  const auto some = select_classes(data, {1, 2});
  EXPECT_TRUE(
      torch::equal(some.images.reshape({-1}), torch::tensor({1.0f, 2.0f, 3.0f, 5.0f, 6.0f})));
  const auto first = first_n_per_class(some, 2);
  EXPECT_TRUE(torch::equal(first.images.reshape({-1}), torch::tensor({1.0f, 2.0f, 3.0f, 5.0f})));
  EXPECT_TRUE(torch::equal(first.labels, torch::tensor({1, 2, 1, 2}, torch::kInt64)));
  EXPECT_THROW(first_n_per_class(some, 3), InputError);  // class 2 has two images
  EXPECT_THROW(select_classes(data, {4}), InputError);
}

TEST_F(IdxTest, LoadsFashionMnistWhenInstalled) {
  if (!fs::is_directory(kDefaultImageDirectory))
    GTEST_SKIP() << kDefaultImageDirectory << " not installed (apt-get install "
                 << "dataset-fashion-mnist)";
  const auto train = load_idx_dataset(kDefaultImageDirectory, "train");
  const auto test = load_idx_dataset(kDefaultImageDirectory, "test");
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  for (const auto* data : {&train, &test}) {
    EXPECT_EQ(data->images.size(1), 784);
    EXPECT_EQ(data->labels.min().item<int64_t>(), 0);
    EXPECT_EQ(data->labels.max().item<int64_t>(), 9);
    EXPECT_GE(data->images.min().item<float>(), -1.0f);
    EXPECT_LE(data->images.max().item<float>(), 1.0f);
  }
  // Fashion-MNIST is balanced: 6000 training images per class.
  EXPECT_TRUE(torch::equal(torch::bincount(train.labels), torch::full({10}, 6000, torch::kInt64)));
}

}  // namespace
}  // namespace diffuse
