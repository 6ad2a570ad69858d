// PNG grids and scatter plots, read back with libpng's own simplified read API.
#include <gtest/gtest.h>
#include <png.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/base/errors.h"
#include "core/io/image.h"
#include "tests/temp_dir.h"

namespace diffuse {
namespace {

namespace fs = std::filesystem;

using Rgb = std::array<int, 3>;

// A decoded PNG, always converted to 8-bit RGB by libpng.
struct Decoded {
  int width = 0, height = 0;
  bool gray = false;
  std::vector<uint8_t> pixels;

  Rgb at(int x, int y) const {
    const size_t i = (static_cast<size_t>(y) * width + x) * 3;
    return {pixels[i], pixels[i + 1], pixels[i + 2]};
  }
};

Decoded read_png_file(const std::string& file) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  Decoded out;
  if (!png_image_begin_read_from_file(&image, file.c_str())) {
    ADD_FAILURE() << "cannot read " << file << ": " << image.message;
    return out;
  }
  out.gray = (image.format & PNG_FORMAT_FLAG_COLOR) == 0;
  image.format = PNG_FORMAT_RGB;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
    ADD_FAILURE() << "cannot decode " << file << ": " << image.message;
  }
  png_image_free(&image);
  return out;
}

bool is_white(const Rgb& c) { return c[0] == 255 && c[1] == 255 && c[2] == 255; }
bool is_gray(const Rgb& c) { return c[0] == c[1] && c[1] == c[2]; }
bool is_bluish(const Rgb& c) { return c[2] > c[0] + 30 && c[2] > c[1] + 30; }

class ImageTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Every write is atomic: nothing but finished files may be left.
    for (const auto& entry : fs::directory_iterator(dir_)) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos)
          << "leftover " << entry.path();
    }
  }

  std::string path(const std::string& name) const { return scratch_.file(name); }

  testing::TempDir scratch_;
  const fs::path dir_ = scratch_.path();
};

TEST_F(ImageTest, WritePngRoundTripsGrayAndRgb) {
  const torch::Tensor gray = torch::arange(12, torch::kUInt8).reshape({3, 4}) * 20;
  write_png(path("gray.png"), gray);
  const Decoded g = read_png_file(path("gray.png"));
  ASSERT_EQ(g.width, 4);
  ASSERT_EQ(g.height, 3);
  EXPECT_TRUE(g.gray);
  EXPECT_EQ(g.at(3, 2), (Rgb{220, 220, 220}));  // element 11 * 20
  EXPECT_EQ(g.at(1, 0), (Rgb{20, 20, 20}));

  torch::Tensor rgb = torch::zeros({2, 5, 3}, torch::kUInt8);
  rgb[1][4][0] = 200;
  rgb[1][4][2] = 7;
  rgb[0][0][1] = 255;
  write_png(path("rgb.png"), rgb);
  const Decoded c = read_png_file(path("rgb.png"));
  ASSERT_EQ(c.width, 5);
  ASSERT_EQ(c.height, 2);
  EXPECT_FALSE(c.gray);
  EXPECT_EQ(c.at(4, 1), (Rgb{200, 0, 7}));
  EXPECT_EQ(c.at(0, 0), (Rgb{0, 255, 0}));
  EXPECT_EQ(c.at(2, 0), (Rgb{0, 0, 0}));
}

TEST_F(ImageTest, WritePngRejectsBadImages) {
  EXPECT_THROW(write_png(path("a.png"), torch::zeros({3, 4}, torch::kFloat32)), InputError);
  EXPECT_THROW(write_png(path("b.png"), torch::zeros({3, 4, 2}, torch::kUInt8)), InputError);
  EXPECT_THROW(write_png(path("c.png"), torch::zeros({4}, torch::kUInt8)), InputError);
  EXPECT_THROW(write_png(path("d.png"), torch::zeros({0, 4}, torch::kUInt8)), InputError);
  EXPECT_THROW(write_png(path("no/dir/e.png"), torch::zeros({2, 2}, torch::kUInt8)), InputError);
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ImageTest, GridLayoutBorderAndValueMapping) {
  // Five 8x6 gray images: near-square grid is 3 columns by 2 rows with 2-pixel borders.
  torch::Tensor images = torch::full({5, 1, 8, 6}, -1.0);
  images[1].fill_(1.0);
  images[2].fill_(0.0);
  images[3][0][4][5] = 7.0;  // out of range: clamped to white
  write_image_grid(path("grid.png"), images);
  const Decoded g = read_png_file(path("grid.png"));
  ASSERT_EQ(g.width, 3 * (6 + 2) + 2);
  ASSERT_EQ(g.height, 2 * (8 + 2) + 2);
  EXPECT_TRUE(g.gray);
  EXPECT_TRUE(is_white(g.at(0, 0)));                     // outer border
  EXPECT_TRUE(is_white(g.at(8, 5)));                     // border between image 0 and 1
  EXPECT_EQ(g.at(2, 2), (Rgb{0, 0, 0}));                 // image 0 top-left: -1 -> black
  EXPECT_EQ(g.at(2 + 8, 2), (Rgb{255, 255, 255}));       // image 1: +1 -> white
  EXPECT_NEAR(g.at(2 + 16 + 3, 2 + 4)[0], 127.5, 1.0);   // image 2: 0 -> middle gray
  EXPECT_EQ(g.at(2 + 5, 12 + 4), (Rgb{255, 255, 255}));  // image 3, row 1 col 0, clamped
  EXPECT_EQ(g.at(2 + 4, 12 + 4), (Rgb{0, 0, 0}));
  EXPECT_TRUE(is_white(g.at(2 + 16 + 3, 12 + 4)));  // no sixth image: empty cell is white
}

TEST_F(ImageTest, GridColumnsRangeAndRgb) {
  // Explicit columns and a [0, 1] value range on RGB images.
  torch::Tensor images = torch::zeros({3, 3, 4, 4});
  images[0][0].fill_(1.0);  // red
  images[2][2].fill_(0.5);  // half blue
  write_image_grid(path("rgb.png"), images, /*columns=*/3, /*low=*/0.0, /*high=*/1.0);
  const Decoded g = read_png_file(path("rgb.png"));
  ASSERT_EQ(g.width, 3 * 6 + 2);
  ASSERT_EQ(g.height, 6 + 2);
  EXPECT_FALSE(g.gray);
  EXPECT_EQ(g.at(3, 3), (Rgb{255, 0, 0}));
  EXPECT_EQ(g.at(2 + 6, 2), (Rgb{0, 0, 0}));
  const Rgb half_blue = g.at(2 + 12 + 1, 3);
  EXPECT_EQ(half_blue[0], 0);
  EXPECT_NEAR(half_blue[2], 127.5, 1.0);

  // [n, h, w] input and more columns than images.
  const torch::Tensor grid = make_image_grid(torch::zeros({2, 4, 4}), /*columns=*/10);
  EXPECT_EQ(grid.sizes(), torch::IntArrayRef({6 + 2, 2 * 6 + 2, 1}));
}

TEST_F(ImageTest, GridShowsNanAsBlack) {
  torch::Tensor images = torch::ones({1, 1, 2, 2});
  images[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  const torch::Tensor grid = make_image_grid(images);
  EXPECT_EQ(grid[2][2][0].item<int>(), 0);
  EXPECT_EQ(grid[3][3][0].item<int>(), 255);
}

TEST_F(ImageTest, GridRejectsBadInput) {
  EXPECT_THROW(write_image_grid(path("a.png"), torch::zeros({4, 4})), InputError);
  EXPECT_THROW(write_image_grid(path("b.png"), torch::zeros({2, 2, 4, 4})), InputError);
  EXPECT_THROW(write_image_grid(path("c.png"), torch::zeros({0, 1, 4, 4})), InputError);
  EXPECT_THROW(write_image_grid(path("d.png"), torch::zeros({2, 1, 4, 4}, torch::kUInt8)),
               InputError);
  EXPECT_THROW(write_image_grid(path("e.png"), torch::zeros({2, 1, 4, 4}), 0, 1.0, 1.0),
               InputError);
  EXPECT_THROW(write_image_grid(path("f.png"), torch::zeros({2, 1, 4, 4}), -1), InputError);
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ImageTest, ScatterDrawsPointsWhereTheyAreOnWhite) {
  // 50 points at (1, 1) and a grey reference cloud at (-1, -1), fixed range [-2, 2]^2.
  ScatterOptions options;
  options.width = 200;
  options.height = 100;
  options.range = PlotRange{-2.0, 2.0, -2.0, 2.0};
  const torch::Tensor points = torch::ones({50, 2});
  const torch::Tensor reference = -torch::ones({50, 2});
  const ScatterSummary summary = write_scatter_png(path("scatter.png"), points, options, reference);
  EXPECT_EQ(summary.drawn, 50);
  EXPECT_EQ(summary.skipped, 0);
  EXPECT_EQ(summary.reference_drawn, 50);

  const Decoded s = read_png_file(path("scatter.png"));
  ASSERT_EQ(s.width, 200);
  ASSERT_EQ(s.height, 100);
  const std::vector<std::pair<int, int>> blank = {{0, 0}, {199, 0}, {0, 99}, {199, 99}, {30, 80}};
  for (auto [x, y] : blank) {
    EXPECT_TRUE(is_white(s.at(x, y))) << x << "," << y;
  }
  // (1, 1) is at column 3/4 * 200 = 150, row 1/4 * 100 = 25.
  EXPECT_TRUE(is_bluish(s.at(150, 25)));
  // (-1, -1) is at column 50, row 75: grey, not white.
  const Rgb ref = s.at(50, 75);
  EXPECT_TRUE(is_gray(ref));
  EXPECT_LT(ref[0], 200);
  // The axes through 0 are light lines (column 100, row 50), away from the points.
  const Rgb axis_v = s.at(100, 90), axis_h = s.at(10, 50);
  EXPECT_TRUE(is_gray(axis_v) && axis_v[0] < 255 && axis_v[0] > 180);
  EXPECT_TRUE(is_gray(axis_h) && axis_h[0] < 255 && axis_h[0] > 180);
}

TEST_F(ImageTest, ScatterSkipsAndCountsNonFinitePoints) {
  torch::Tensor points = torch::zeros({10, 2});
  points[3][0] = std::numeric_limits<float>::quiet_NaN();
  points[7][1] = std::numeric_limits<float>::infinity();
  ScatterSummary summary;
  const torch::Tensor image = render_scatter(points, {}, {}, &summary);
  EXPECT_EQ(summary.drawn, 8);
  EXPECT_EQ(summary.skipped, 2);
  EXPECT_EQ(image.sizes(), torch::IntArrayRef({512, 512, 3}));
}

TEST_F(ImageTest, ScatterAutoRangeIgnoresOutliers) {
  torch::manual_seed(1);
  torch::Tensor points = torch::randn({2000, 2});
  points[0][0] = 1e6;  // one diverged sample must not squash the rest into a few pixels
  ScatterOptions options;
  options.width = options.height = 128;
  const torch::Tensor image = render_scatter(points, options);
  const auto pixels = image.accessor<uint8_t, 3>();
  int64_t coloured = 0;
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 128; ++x) {
      if (pixels[y][x][2] > pixels[y][x][0] + 10) ++coloured;
    }
  }
  // A standard normal cloud fitted to the frame covers a good part of it.
  EXPECT_GT(coloured, 128 * 128 / 5);
}

TEST_F(ImageTest, ScatterOfIdenticalPointsStillDraws) {
  const torch::Tensor image = render_scatter(torch::full({5, 2}, 3.0));
  EXPECT_TRUE(is_bluish({image[256][256][0].item<int>(), image[256][256][1].item<int>(),
                         image[256][256][2].item<int>()}));
}

TEST_F(ImageTest, ScatterRejectsBadInput) {
  EXPECT_THROW(write_scatter_png(path("a.png"), torch::zeros({5, 3})), InputError);
  EXPECT_THROW(write_scatter_png(path("b.png"), torch::zeros({5})), InputError);
  EXPECT_THROW(write_scatter_png(path("c.png"), torch::zeros({0, 2})), InputError);
  EXPECT_THROW(write_scatter_png(path("d.png"), torch::full({4, 2}, NAN)), InputError);
  EXPECT_THROW(write_scatter_png(path("e.png"), torch::zeros({4, 2}), {}, torch::zeros({4, 1})),
               InputError);
  ScatterOptions bad_range;
  bad_range.range = PlotRange{1.0, -1.0, 0.0, 1.0};
  EXPECT_THROW(write_scatter_png(path("f.png"), torch::zeros({4, 2}), bad_range), InputError);
  ScatterOptions tiny;
  tiny.width = 0;
  EXPECT_THROW(write_scatter_png(path("g.png"), torch::zeros({4, 2}), tiny), InputError);
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace diffuse
