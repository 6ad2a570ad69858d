#include "core/io/image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "core/base/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"

namespace diffuse {
namespace {

// --- scatter plot helpers -----------------------------------------------------------------

struct Point {
  double x, y;
};

// The finite rows of an [n, 2] tensor; counts the others in `skipped`.
std::vector<Point> finite_points(const torch::Tensor& points, const std::string& what,
                                 int64_t* skipped) {
  require(points.dim() == 2 && points.size(1) == 2,
          "scatter plot: " + what + " must have shape [n, 2], got " + shape_string(points));
  require(points.size(0) > 0, "scatter plot: no " + what + " (shape " + shape_string(points) + ")");
  require(!points.is_complex() && points.scalar_type() != torch::kBool,
          "scatter plot: " + what + " must be real numbers");
  const torch::Tensor data = points.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const auto* values = data.data_ptr<double>();
  std::vector<Point> result;
  result.reserve(static_cast<size_t>(data.size(0)));
  *skipped = 0;
  for (int64_t i = 0; i < data.size(0); ++i) {
    const double x = values[2 * i], y = values[2 * i + 1];
    if (std::isfinite(x) && std::isfinite(y)) {
      result.push_back({x, y});
    } else {
      ++*skipped;
    }
  }
  require(!result.empty(), "scatter plot: none of the " + std::to_string(data.size(0)) + " " +
                               what + " is finite (all NaN or infinite)");
  return result;
}

double quantile(std::vector<double> values, double q) {
  const auto index = static_cast<size_t>(q * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

// [low, high] of one coordinate from quantiles, with a non-zero span.
std::pair<double, double> fitted_interval(const std::vector<double>& values, double margin) {
  // Quantiles rather than min/max so a handful of diverged samples cannot squash the plot.
  double low = quantile(values, 0.005), high = quantile(values, 0.995);
  double span = high - low;
  if (!(span > 0.0)) {  // all points equal: show a unit window around them
    span = 1.0;
    low -= 0.5;
    high += 0.5;
  }
  return {low - margin * span, high + margin * span};
}

PlotRange fit_range(const std::vector<Point>& a, const std::vector<Point>& b,
                    const ScatterOptions& options) {
  std::vector<double> xs, ys;
  for (const auto* set : {&a, &b}) {
    for (const Point& p : *set) {
      xs.push_back(p.x);
      ys.push_back(p.y);
    }
  }
  auto [x_min, x_max] = fitted_interval(xs, options.margin);
  auto [y_min, y_max] = fitted_interval(ys, options.margin);
  if (options.equal_aspect) {
    // One data unit per pixel on both axes: widen the narrower axis around its centre.
    const double per_pixel =
        std::max((x_max - x_min) / options.width, (y_max - y_min) / options.height);
    const double x_mid = 0.5 * (x_min + x_max), y_mid = 0.5 * (y_min + y_max);
    x_min = x_mid - 0.5 * per_pixel * options.width;
    x_max = x_mid + 0.5 * per_pixel * options.width;
    y_min = y_mid - 0.5 * per_pixel * options.height;
    y_max = y_mid + 0.5 * per_pixel * options.height;
  }
  return {x_min, x_max, y_min, y_max};
}

// An RGB canvas of floats in [0, 1], row-major, top row first.
class Canvas {
 public:
  Canvas(int width, int height)
      : width_(width), height_(height), pixels_(static_cast<size_t>(width) * height * 3, 1.0f) {}

  void set(int x, int y, float gray) {
    float* p = pixel(x, y);
    p[0] = p[1] = p[2] = gray;
  }

  void blend(int x, int y, const std::array<uint8_t, 3>& color, float alpha) {
    float* p = pixel(x, y);
    for (int c = 0; c < 3; ++c) p[c] = p[c] * (1.0f - alpha) + (color[c] / 255.0f) * alpha;
  }

  // A filled disc: every pixel whose centre lies within `radius` of (cx, cy).
  void dot(double cx, double cy, double radius, const std::array<uint8_t, 3>& color, float alpha) {
    const int x0 = std::max(0, static_cast<int>(std::floor(cx - radius)));
    const int x1 = std::min(width_ - 1, static_cast<int>(std::ceil(cx + radius)));
    const int y0 = std::max(0, static_cast<int>(std::floor(cy - radius)));
    const int y1 = std::min(height_ - 1, static_cast<int>(std::ceil(cy + radius)));
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
        if (dx * dx + dy * dy <= radius * radius) blend(x, y, color, alpha);
      }
    }
  }

  torch::Tensor to_tensor() const {
    torch::Tensor image = torch::empty({height_, width_, 3}, torch::kUInt8);
    auto* out = image.data_ptr<uint8_t>();
    for (size_t i = 0; i < pixels_.size(); ++i) {
      out[i] = static_cast<uint8_t>(std::lround(std::clamp(pixels_[i], 0.0f, 1.0f) * 255.0f));
    }
    return image;
  }

 private:
  float* pixel(int x, int y) { return &pixels_[(static_cast<size_t>(y) * width_ + x) * 3]; }

  int width_, height_;
  std::vector<float> pixels_;
};

void validate(const ScatterOptions& options) {
  require(options.width >= 16 && options.width <= 16384 && options.height >= 16 &&
              options.height <= 16384,
          "scatter plot: width and height must be in 16..16384, got " +
              std::to_string(options.width) + "x" + std::to_string(options.height));
  require(std::isfinite(options.margin) && options.margin >= 0.0,
          "scatter plot: margin must be >= 0");
  require(
      std::isfinite(options.dot_radius) && options.dot_radius > 0.0 && options.dot_radius <= 64.0,
      "scatter plot: dot_radius must be in (0, 64]");
  require(std::isfinite(options.alpha) && options.alpha <= 1.0,
          "scatter plot: alpha must be <= 1 (<= 0 picks it from the point count)");
  if (options.range) {
    const PlotRange& r = *options.range;
    require(std::isfinite(r.x_min) && std::isfinite(r.x_max) && std::isfinite(r.y_min) &&
                std::isfinite(r.y_max) && r.x_min < r.x_max && r.y_min < r.y_max,
            "scatter plot: the range must be finite with x_min < x_max and y_min < y_max");
  }
}

}  // namespace

std::string encode_png(const torch::Tensor& image) {
  require(image.defined(), "PNG: the image is undefined");
  require(image.scalar_type() == torch::kUInt8,
          std::string("PNG: the image must be uint8, got ") + c10::toString(image.scalar_type()));
  require(image.dim() == 2 || image.dim() == 3,
          "PNG: the image must be [h, w] or [h, w, c], got " + shape_string(image));
  const int64_t height = image.size(0), width = image.size(1);
  const int64_t channels = image.dim() == 3 ? image.size(2) : 1;
  require(channels == 1 || channels == 3 || channels == 4,
          "PNG: the image must have 1, 3 or 4 channels, got " + shape_string(image));
  // libpng's own default limit on either side.
  require(height > 0 && width > 0 && height <= 1000000 && width <= 1000000,
          "PNG: image sides must be in 1..1000000, got " + shape_string(image));
  const torch::Tensor pixels = image.detach().to(torch::kCPU).contiguous();

  png_image info;
  std::memset(&info, 0, sizeof info);
  info.version = PNG_IMAGE_VERSION;
  info.width = static_cast<png_uint_32>(width);
  info.height = static_cast<png_uint_32>(height);
  info.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  // The simplified API reports errors through its return value and info.message, so no
  // setjmp/longjmp crosses C++ frames.
  std::string bytes;
  png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(info);
  for (int attempt = 0; attempt < 2; ++attempt) {
    bytes.assign(size, '\0');
    if (png_image_write_to_memory(&info, bytes.data(), &size, 0, pixels.data_ptr(), 0, nullptr)) {
      bytes.resize(size);
      return bytes;
    }
    if (size <= bytes.size()) break;  // a real error, not a short buffer
  }
  const std::string message = info.message;
  png_image_free(&info);
  throw RuntimeFailure("PNG encoding failed: " + message);
}

void write_png(const std::string& path, const torch::Tensor& image) {
  write_file_atomically(path, encode_png(image));
}

torch::Tensor make_image_grid(const torch::Tensor& images, int columns, double low, double high) {
  require(images.defined(), "image grid: the images are undefined");
  require(images.is_floating_point(), std::string("image grid: images must be floating point, "
                                                  "got ") +
                                          c10::toString(images.scalar_type()));
  require(images.dim() == 3 || (images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3)),
          "image grid: images must be [n, h, w], [n, 1, h, w] or [n, 3, h, w], got " +
              shape_string(images));
  require(images.numel() > 0, "image grid: no images (shape " + shape_string(images) + ")");
  require(columns >= 0, "image grid: columns must be >= 0 (0 = automatic)");
  require(std::isfinite(low) && std::isfinite(high) && low < high,
          "image grid: the value range must be finite with low < high");

  torch::Tensor x = images.detach().to(torch::kCPU, torch::kFloat32);
  if (x.dim() == 3) x = x.unsqueeze(1);
  // NaN shows as black and infinities as the ends of the range: a broken sample stays visible.
  x = torch::nan_to_num(x, low, high, low);
  x = ((x - low) * (255.0 / (high - low))).round().clamp(0, 255).to(torch::kUInt8);

  constexpr int64_t kBorder = 2;
  const int64_t n = x.size(0), channels = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t cols = columns > 0
                           ? std::min<int64_t>(columns, n)
                           : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  const int64_t rows = (n + cols - 1) / cols;
  torch::Tensor grid =
      torch::full({rows * (h + kBorder) + kBorder, cols * (w + kBorder) + kBorder, channels}, 255,
                  torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = kBorder + (i / cols) * (h + kBorder);
    const int64_t left = kBorder + (i % cols) * (w + kBorder);
    grid.slice(0, top, top + h).slice(1, left, left + w).copy_(x[i].permute({1, 2, 0}));
  }
  return grid;
}

void write_image_grid(const std::string& path, const torch::Tensor& images, int columns, double low,
                      double high) {
  write_png(path, make_image_grid(images, columns, low, high));
}

torch::Tensor render_scatter(const torch::Tensor& points, const ScatterOptions& options,
                             const torch::Tensor& reference, ScatterSummary* summary) {
  validate(options);
  require(points.defined(), "scatter plot: the points are undefined");
  ScatterSummary counts;
  const std::vector<Point> main_set = finite_points(points, "points", &counts.skipped);
  std::vector<Point> reference_set;
  if (reference.defined()) {
    reference_set = finite_points(reference, "reference points", &counts.reference_skipped);
  }
  counts.drawn = static_cast<int64_t>(main_set.size());
  counts.reference_drawn = static_cast<int64_t>(reference_set.size());

  const PlotRange range =
      options.range ? *options.range : fit_range(main_set, reference_set, options);
  const double x_scale = options.width / (range.x_max - range.x_min);
  const double y_scale = options.height / (range.y_max - range.y_min);
  auto column_of = [&](double x) { return (x - range.x_min) * x_scale; };
  auto row_of = [&](double y) { return (range.y_max - y) * y_scale; };  // rows grow downwards

  Canvas canvas(options.width, options.height);
  constexpr float kAxisGray = 0.85f;
  if (range.x_min < 0.0 && 0.0 < range.x_max) {
    const int column = std::min(options.width - 1, static_cast<int>(column_of(0.0)));
    for (int y = 0; y < options.height; ++y) canvas.set(column, y, kAxisGray);
  }
  if (range.y_min < 0.0 && 0.0 < range.y_max) {
    const int row = std::min(options.height - 1, static_cast<int>(row_of(0.0)));
    for (int x = 0; x < options.width; ++x) canvas.set(x, row, kAxisGray);
  }

  auto draw = [&](const std::vector<Point>& set, const std::array<uint8_t, 3>& color) {
    if (set.empty()) return;
    // Faint dots for many points, so overlap builds up into visible density.
    const double alpha = options.alpha > 0.0
                             ? options.alpha
                             : std::clamp(1000.0 / static_cast<double>(set.size()), 0.05, 0.8);
    for (const Point& p : set) {
      canvas.dot(column_of(p.x), row_of(p.y), options.dot_radius, color, static_cast<float>(alpha));
    }
  };
  draw(reference_set, options.reference_color);  // underneath, so the samples stay visible
  draw(main_set, options.color);

  if (summary != nullptr) *summary = counts;
  return canvas.to_tensor();
}

ScatterSummary write_scatter_png(const std::string& path, const torch::Tensor& points,
                                 const ScatterOptions& options, const torch::Tensor& reference) {
  ScatterSummary summary;
  write_png(path, render_scatter(points, options, reference, &summary));
  return summary;
}

}  // namespace diffuse
