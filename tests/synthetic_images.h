// Synthetic 28x28 images in ten classes, easy enough for the classifier to learn in seconds:
// class c is a bright horizontal bar on rows 2c + 4 and 2c + 5 over a noisy dark background.
// Also writes them as an MNIST-format folder (plain IDX files) for command-line tests.
#pragma once

#include "core/io/idx.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace diffuse::testing {

struct SyntheticImages {
  torch::Tensor pixels;  // [n, 28, 28] uint8
  torch::Tensor labels;  // [n] int64, class i % 10 for image i
};

inline SyntheticImages synthetic_images(std::int64_t n, std::uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  auto pixels = torch::randint(0, 60, {n, 28, 28}, gen, torch::kInt64);
  const auto labels = torch::arange(n, torch::kInt64).remainder(10);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t row = 2 * labels[i].item<std::int64_t>() + 4;
    pixels[i].slice(0, row, row + 2).slice(1, 4, 24).fill_(230);
  }
  return {pixels.to(torch::kUInt8), labels};
}

// Scaled as load_idx_dataset scales pixels: [n, 784] float32 in [-1, 1].
inline ImageDataset as_dataset(const SyntheticImages& s) {
  ImageDataset data;
  data.images = s.pixels.reshape({s.pixels.size(0), 784}).to(torch::kFloat32) / 127.5 - 1.0;
  data.labels = s.labels;
  data.rows = data.cols = 28;
  data.source = "synthetic bars";
  return data;
}

namespace detail {
inline void put_u32(std::ofstream& out, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.put(static_cast<char>((v >> shift) & 0xff));
}
inline void write_idx(const std::filesystem::path& path, std::uint32_t magic,
                      const torch::Tensor& bytes) {
  std::ofstream out(path, std::ios::binary);
  put_u32(out, magic);
  for (const auto size : bytes.sizes()) put_u32(out, static_cast<std::uint32_t>(size));
  const auto data = bytes.to(torch::kUInt8).contiguous();
  out.write(reinterpret_cast<const char*>(data.data_ptr<std::uint8_t>()), data.numel());
}
}  // namespace detail

// train-{images,labels} and t10k-{images,labels} IDX files in `folder` (created if missing).
inline void write_idx_folder(const std::filesystem::path& folder, const SyntheticImages& train,
                             const SyntheticImages& test) {
  std::filesystem::create_directories(folder);
  detail::write_idx(folder / "train-images-idx3-ubyte", 0x803, train.pixels);
  detail::write_idx(folder / "train-labels-idx1-ubyte", 0x801, train.labels);
  detail::write_idx(folder / "t10k-images-idx3-ubyte", 0x803, test.pixels);
  detail::write_idx(folder / "t10k-labels-idx1-ubyte", 0x801, test.labels);
}

}  // namespace diffuse::testing
