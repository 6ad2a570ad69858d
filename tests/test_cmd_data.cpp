// `diffuse data`: exact samples of the configured data with their labels.
#include "core/io/npy.h"
#include "tests/cli_runner.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace diffuse::testing {
namespace {

TEST(DataCommandTest, WritesRingSamplesWithTheirComponents) {
  TempDir dir;
  const auto r = run_diffuse("data --set data.kind=ring8 --set data.radius=4 --set data.std=0.1 "
                             "-n 2000 --dtype float64 -o " + dir.file("ring.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto x = load_npy(dir.file("ring.npy"));
  const auto labels = load_npy(dir.file("ring.labels.npy"));
  ASSERT_EQ(x.sizes(), torch::IntArrayRef({2000, 2}));
  ASSERT_EQ(labels.sizes(), torch::IntArrayRef({2000}));
  // On a ring of radius 4 with std 0.1: radii within a few std of 4, all 8 components present.
  const auto radius = x.norm(2, 1);
  EXPECT_NEAR(radius.mean().item<double>(), 4.0, 0.02);
  EXPECT_LT((radius - 4.0).abs().max().item<double>(), 0.6);
  EXPECT_EQ(std::get<0>(at::_unique(labels)).numel(), 8);
  // Samples of one label sit together: within-label spread is the component's std.
  const auto first = x.index({labels.eq(0)});
  EXPECT_NEAR(first.std(0).mean().item<double>(), 0.1, 0.02);
}

TEST(DataCommandTest, BadOptionsAreUsageErrors) {
  TempDir dir;
  EXPECT_EQ(run_diffuse("data --set data.kind=nope -o " + dir.file("x.npy")).exit_code, 2);
  EXPECT_EQ(run_diffuse("data -n 0 -o " + dir.file("x.npy")).exit_code, 2);
}

}  // namespace
}  // namespace diffuse::testing
