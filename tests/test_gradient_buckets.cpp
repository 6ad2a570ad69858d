// Gradient buckets: with a fake all-reduce that doubles (two identical ranks), every
// gradient and scalar comes out doubled; buckets start during the backward pass, in order; a
// parameter used twice arrives once, whole; two backward passes before finish() fall back to the
// accumulated gradients; an unused parameter sums zeros.
#include "train/distributed/gradient_buckets.h"

#include <gtest/gtest.h>

namespace diffuse::testing {
namespace {

// A fake sum over two equal ranks that records the order of the buckets it was given.
struct FakeRanks {
  std::vector<std::int64_t> started;  // sizes, in the order started
  std::vector<torch::Tensor> pending;
  GradientBuckets::Launch launch() {
    return [this](torch::Tensor& flat) {
      started.push_back(flat.numel());
      pending.push_back(flat);
    };
  }
  GradientBuckets::WaitAll wait_all() {
    return [this] {
      for (auto& t : pending) t.mul_(2.0);
      pending.clear();
    };
  }
};

torch::nn::Sequential make_net() {
  torch::manual_seed(3);
  return torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::Tanh(),
                               torch::nn::Linear(8, 8), torch::nn::Tanh(),
                               torch::nn::Linear(8, 3));
}

std::vector<torch::Tensor> plain_gradients(const torch::Tensor& x) {
  auto net = make_net();
  net->forward(x).pow(2).sum().backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
  return grads;
}

TEST(GradientBucketsTest, SumsEveryGradientAndScalarStartingDuringBackward) {
  const auto x = torch::randn({5, 4});
  const auto expected = plain_gradients(x);
  auto net = make_net();
  FakeRanks ranks;
  GradientBuckets buckets(net->parameters(), /*bucket_bytes=*/100, ranks.launch(),
                          ranks.wait_all());
  ASSERT_GT(buckets.bucket_count(), 3u);
  for (int step = 0; step < 2; ++step) {  // the second step reuses the buffers
    ranks.started.clear();
    for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
    net->forward(x).pow(2).sum().backward();
    EXPECT_EQ(ranks.started.size(), buckets.bucket_count() - 1) << "all but the last, early";
    auto scalars = torch::tensor({1.5, 1.0}, torch::kFloat64);
    buckets.finish(scalars);
    EXPECT_EQ(ranks.started.size(), buckets.bucket_count());
    EXPECT_EQ(buckets.started_early(), buckets.bucket_count() - 1);
    EXPECT_FALSE(buckets.fell_back());
    const auto params = net->parameters();
    for (std::size_t i = 0; i < params.size(); ++i)
      EXPECT_TRUE(torch::allclose(params[i].grad(), 2.0 * expected[i], 1e-6, 1e-7)) << i;
    EXPECT_DOUBLE_EQ(scalars[0].item<double>(), 3.0);
    EXPECT_DOUBLE_EQ(scalars[1].item<double>(), 2.0);
  }
}

TEST(GradientBucketsTest, AParameterUsedTwiceArrivesOnceWithItsWholeGradient) {
  torch::manual_seed(4);
  auto w = torch::randn({3, 3}, torch::requires_grad());
  auto v = torch::randn({3, 3}, torch::requires_grad());
  const auto x = torch::randn({2, 3});
  // v is used first and last: autograd sums both uses before v's hook runs, so its bucket (the
  // first, since buckets run backwards) starts with the whole gradient.
  const auto loss = [&] { return torch::matmul(torch::matmul(torch::matmul(x, v), w), v).sum(); };
  loss().backward();
  const auto gw = w.grad().clone(), gv = v.grad().clone();
  FakeRanks ranks;
  GradientBuckets buckets({w, v}, /*bucket_bytes=*/36, ranks.launch(), ranks.wait_all());
  ASSERT_EQ(buckets.bucket_count(), 2u);
  w.mutable_grad().zero_();
  v.mutable_grad().zero_();
  loss().backward();
  auto scalars = torch::zeros({1}, torch::kFloat64);
  buckets.finish(scalars);
  EXPECT_EQ(buckets.started_early(), 1u);
  EXPECT_FALSE(buckets.fell_back());
  EXPECT_TRUE(torch::allclose(w.grad(), 2.0 * gw));
  EXPECT_TRUE(torch::allclose(v.grad(), 2.0 * gv));
  // Two backward passes before finish() (gradient accumulation): the second finds v's bucket
  // started, and the step sums the accumulated gradients instead.
  w.mutable_grad().zero_();
  v.mutable_grad().zero_();
  loss().backward();
  loss().backward();
  buckets.finish(scalars);
  EXPECT_TRUE(buckets.fell_back());
  EXPECT_TRUE(torch::allclose(w.grad(), 4.0 * gw));
  EXPECT_TRUE(torch::allclose(v.grad(), 4.0 * gv));
}

TEST(GradientBucketsTest, AnUnusedParameterSumsZeros) {
  auto used = torch::ones({2}, torch::requires_grad());
  auto unused = torch::ones({3}, torch::requires_grad());
  FakeRanks ranks;
  GradientBuckets buckets({used, unused}, 1 << 20, ranks.launch(), ranks.wait_all());
  (used * 3.0).sum().backward();
  auto scalars = torch::zeros({1}, torch::kFloat64);
  buckets.finish(scalars);
  EXPECT_TRUE(torch::equal(used.grad(), torch::full({2}, 6.0)));
  EXPECT_TRUE(torch::equal(unused.grad(), torch::zeros({3})));
}

}  // namespace
}  // namespace diffuse::testing
