// PNG output: image grids of samples and scatter plots of 2-D samples. All files are written
// atomically (encoded in memory, then renamed into place).
//
// Usage:
//   diffuse::write_image_grid("grid.png", samples);              // [n, c, h, w], values in [-1, 1]
//   diffuse::write_image_grid("grid.png", x01, /*columns=*/8, /*low=*/0.0, /*high=*/1.0);
//   diffuse::ScatterOptions options;
//   options.range = diffuse::PlotRange{-4, 4, -4, 4};            // default: fitted to the data
//   auto summary = diffuse::write_scatter_png("scatter.png", samples, options, reference);
//   if (summary.skipped > 0) { /* some samples were NaN or infinite */ }
//   diffuse::write_png("raw.png", rgb);                          // [h, w, 3] uint8
//
// Bad input (wrong rank or dtype, no finite point, an empty batch) is an InputError.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace diffuse {

// Encodes a uint8 image, [h, w] (gray) or [h, w, c] with c = 1 (gray), 3 (RGB) or 4 (RGBA), as
// PNG bytes.
std::string encode_png(const torch::Tensor& image);

// Writes a uint8 image (see encode_png) to `path`.
void write_png(const std::string& path, const torch::Tensor& image);

// Tiles a batch into one uint8 [H, W, c] image (c = 1 or 3) with a 2-pixel white border: images
// are [n, h, w] (gray), [n, 1, h, w] (gray) or [n, 3, h, w] (RGB), floating point, with values in
// [low, high] mapped to 0..255 (outside: clamped; NaN: black). columns = 0 picks a near-square
// grid (ceil(sqrt(n)) columns).
torch::Tensor make_image_grid(const torch::Tensor& images, int columns = 0, double low = -1.0,
                              double high = 1.0);

// make_image_grid, written to `path` as PNG.
void write_image_grid(const std::string& path, const torch::Tensor& images, int columns = 0,
                      double low = -1.0, double high = 1.0);

// The data rectangle a scatter plot shows.
struct PlotRange {
  double x_min = -1.0, x_max = 1.0, y_min = -1.0, y_max = 1.0;
};

struct ScatterOptions {
  int width = 512, height = 512;
  // Fixed range; when unset, fitted to the 0.5% .. 99.5% quantiles of all finite points (so a
  // few diverged samples do not squash the plot), widened by `margin` on each side.
  std::optional<PlotRange> range;
  double margin = 0.05;
  // Same scale on both axes when the range is fitted, so circles look round.
  bool equal_aspect = true;
  double dot_radius = 1.5;  // pixels
  // Opacity of one dot, so dense regions look darker; <= 0 picks one from the point count.
  double alpha = 0.0;
  std::array<uint8_t, 3> color = {31, 90, 200};              // the points: blue
  std::array<uint8_t, 3> reference_color = {150, 150, 150};  // the reference set: grey
};

// How many points a scatter plot drew, and how many it skipped for being NaN or infinite.
struct ScatterSummary {
  int64_t drawn = 0, skipped = 0;
  int64_t reference_drawn = 0, reference_skipped = 0;
};

// Renders `points` ([n, 2]) over the optional `reference` set ([m, 2]) as an RGB image
// [height, width, 3] uint8: white background, light axis lines through 0 when inside the range.
torch::Tensor render_scatter(const torch::Tensor& points, const ScatterOptions& options = {},
                             const torch::Tensor& reference = {},
                             ScatterSummary* summary = nullptr);

// render_scatter, written to `path` as PNG.
ScatterSummary write_scatter_png(const std::string& path, const torch::Tensor& points,
                                 const ScatterOptions& options = {},
                                 const torch::Tensor& reference = {});

}  // namespace diffuse
