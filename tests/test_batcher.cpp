// Batcher: every epoch is a permutation of the rows, batches follow the seed, labels stay with
// their rows, and seek() replays the stream for a resumed run.
#include "core/base/errors.h"
#include "core/data/batcher.h"

#include <gtest/gtest.h>

#include <set>

namespace diffuse {
namespace {

torch::Tensor rows(int64_t n) { return torch::arange(n, torch::kFloat32).unsqueeze(1); }

std::vector<int64_t> ids(const Batch& batch) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < batch.x.size(0); ++i)
    out.push_back(static_cast<int64_t>(batch.x[i][0].item<float>()));
  return out;
}

TEST(BatcherTest, EachEpochVisitsEveryRowOnce) {
  BatcherOptions options;
  options.batch_size = 3;
  options.drop_last = false;
  Batcher batcher(rows(10), options);
  EXPECT_EQ(batcher.batches_per_epoch(), 4);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::multiset<int64_t> seen;
    for (int b = 0; b < 4; ++b) {
      const auto batch = batcher.next();
      EXPECT_EQ(batch.x.size(0), b < 3 ? 3 : 1);
      for (auto id : ids(batch)) seen.insert(id);
    }
    EXPECT_EQ(seen, (std::multiset<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(batcher.epoch(), epoch + 1);
  }
}

TEST(BatcherTest, DropLastKeepsFullBatchesOfDistinctRows) {
  BatcherOptions options;
  options.batch_size = 4;
  Batcher batcher(rows(10), options);
  EXPECT_EQ(batcher.batches_per_epoch(), 2);
  std::set<int64_t> seen;
  for (int b = 0; b < 2; ++b) {
    const auto batch = batcher.next();
    ASSERT_EQ(batch.x.size(0), 4);
    for (auto id : ids(batch)) EXPECT_TRUE(seen.insert(id).second) << "row " << id << " twice";
  }
  batcher.next();
  EXPECT_EQ(batcher.epoch(), 2);
}

TEST(BatcherTest, OrderFollowsTheSeed) {
  BatcherOptions options;
  options.batch_size = 5;
  options.seed = 11;
  Batcher a(rows(50), options), b(rows(50), options);
  options.seed = 12;
  Batcher c(rows(50), options);
  bool differs = false;
  for (int i = 0; i < 12; ++i) {
    const auto ba = a.next(), bb = b.next(), bc = c.next();
    EXPECT_TRUE(torch::equal(ba.x, bb.x)) << "batch " << i;
    differs = differs || !torch::equal(ba.x, bc.x);
  }
  EXPECT_TRUE(differs);
  // Successive epochs are shuffled differently.
  Batcher d(rows(50), options);
  std::vector<int64_t> first, second;  // epochs of 10 batches of 5
  for (int i = 0; i < 20; ++i) {
    const auto v = ids(d.next());
    auto& epoch = i < 10 ? first : second;
    epoch.insert(epoch.end(), v.begin(), v.end());
  }
  EXPECT_NE(first, second);
}

TEST(BatcherTest, LabelsStayWithTheirRows) {
  const auto data = rows(20);
  const auto labels = (data.squeeze(1) * 10).to(torch::kInt64);
  BatcherOptions options;
  options.batch_size = 6;
  Batcher batcher(data, labels, options);
  for (int i = 0; i < 7; ++i) {
    const auto batch = batcher.next();
    EXPECT_TRUE(torch::equal(batch.labels, (batch.x.squeeze(1) * 10).to(torch::kInt64)));
  }
}

TEST(BatcherTest, SeekReplaysTheStream) {
  BatcherOptions options;
  options.batch_size = 3;
  options.seed = 5;
  options.drop_last = false;
  Batcher reference(rows(10), options);
  std::vector<Batch> stream;
  for (int i = 0; i < 17; ++i) stream.push_back(reference.next());
  for (int start : {0, 1, 4, 8, 11}) {
    Batcher resumed(rows(10), options);
    resumed.next();  // some unrelated use before the seek
    resumed.seek(start);
    EXPECT_EQ(resumed.batches_drawn(), start);
    for (int i = start; i < 17; ++i)
      EXPECT_TRUE(torch::equal(resumed.next().x, stream[i].x)) << "start " << start << " at " << i;
  }
}

TEST(BatcherTest, ASetSmallerThanABatchFillsItWithWholePasses) {
  BatcherOptions options;
  options.batch_size = 25;
  options.seed = 3;
  Batcher small(rows(10), options);
  std::vector<Batch> stream;
  for (int i = 0; i < 4; ++i) {
    stream.push_back(small.next());
    const auto x = stream.back().x.reshape({-1});
    ASSERT_EQ(x.size(0), 25);
    // Passes 1 and 2 whole (every row twice), then 5 distinct rows of pass 3.
    const auto counts = torch::bincount(x.to(torch::kInt64), {}, 10);
    EXPECT_EQ(counts.min().item<std::int64_t>(), 2) << "batch " << i;
    EXPECT_EQ(counts.max().item<std::int64_t>(), 3) << "batch " << i;
    EXPECT_EQ(counts.eq(3).sum().item<std::int64_t>(), 5) << "batch " << i;
  }
  EXPECT_FALSE(torch::equal(stream[0].x, stream[1].x));  // a fresh order each time
  Batcher resumed(rows(10), options);
  resumed.seek(2);
  EXPECT_TRUE(torch::equal(resumed.next().x, stream[2].x));
  EXPECT_TRUE(torch::equal(resumed.next().x, stream[3].x));
}

TEST(BatcherTest, RejectsBadInput) {
  BatcherOptions options;
  options.batch_size = 2;
  EXPECT_THROW(Batcher(torch::zeros({0, 3}), options), InputError);
  EXPECT_THROW(Batcher(rows(10), torch::zeros({9}, torch::kInt64), options), InputError);
  options.batch_size = 0;
  EXPECT_THROW(Batcher(rows(10), options), InputError);
}

TEST(BatcherTest, KeepsDataOnTheCudaDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  BatcherOptions options;
  options.batch_size = 4;
  options.device = torch::kCUDA;
  Batcher gpu(rows(10), options);
  options.device = torch::kCPU;
  Batcher cpu(rows(10), options);
  const auto batch = gpu.next();
  EXPECT_TRUE(batch.x.is_cuda());
  EXPECT_TRUE(torch::equal(batch.x.cpu(), cpu.next().x));  // same seed, same batch
}

}  // namespace
}  // namespace diffuse
