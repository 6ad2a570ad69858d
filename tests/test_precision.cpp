// Precision options: bf16 autocast really runs the networks in bfloat16 (their
// output moves by bfloat16's rounding, not more, and comes back float32), only inside the
// scope, and fp32 is restored bit for bit; reduced precision with float64 is refused; training
// with --precision bf16 reaches the float32 run's loss.
#include "core/base/errors.h"
#include "core/base/precision.h"
#include "core/process/process.h"
#include "tests/cli_runner.h"
#include "tests/network_fixture.h"
#include "tests/train_fixture.h"

#include <gtest/gtest.h>

namespace diffuse::testing {
namespace {

// Restores the default precision whatever a test does.
struct PrecisionReset {
  ~PrecisionReset() { set_precision(Precision::fp32, torch::kFloat32); }
};

TEST(PrecisionTest, ParsesTheThreeNamesAndRefusesOthers) {
  EXPECT_EQ(parse_precision("fp32"), Precision::fp32);
  EXPECT_EQ(parse_precision("tf32"), Precision::tf32);
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  try {
    parse_precision("fp16");
    FAIL() << "fp16 accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("fp32, tf32 or bf16"), std::string::npos);
  }
  PrecisionReset reset;
  EXPECT_THROW(set_precision(Precision::bf16, torch::kFloat64), InputError);
  EXPECT_THROW(set_precision(Precision::tf32, torch::kFloat64), InputError);
}

TEST(PrecisionTest, Bf16AutocastRunsTheNetworkInBfloat16OnlyInsideTheScope) {
  PrecisionReset reset;
  ProcessConfig pc;
  pc.kind = "vp-linear";
  const auto process = make_process(pc);
  const auto model = drawn_mlp(process, 0.3);  // not the zero output layer
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({16, 8});
  const auto t = torch::full({16}, 0.5, torch::kFloat64);
  const auto fp32 = model->forward(x, t);

  set_precision(Precision::bf16, torch::kFloat32);
  const auto bf16 = model->forward(x, t);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat32);
  const double relative = ((bf16 - fp32).norm() / fp32.norm()).item<double>();
  EXPECT_GT(relative, 1e-4) << "no bfloat16 rounding: autocast did not run";
  EXPECT_LT(relative, 3e-2) << "more than bfloat16 rounding";
  {
    AutocastScope scope(x.device());
    EXPECT_EQ(torch::mm(x, x.t()).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(torch::mm(x, x.t()).scalar_type(), torch::kFloat32) << "autocast left on";

  set_precision(Precision::fp32, torch::kFloat32);
  EXPECT_TRUE(torch::equal(model->forward(x, t), fp32));
}

TEST(PrecisionTest, TrainingInBf16ReachesTheFloat32Loss) {
  TempDir dir;
  double eval_loss[2] = {0, 0};
  const char* precisions[2] = {"fp32", "bf16"};
  for (int i = 0; i < 2; ++i) {
    const std::string out = dir.file(precisions[i]);
    const auto r = run_diffuse("train --config " + dir.write("run.yaml", tiny_ring_yaml(out)) +
                               " --steps 300 --precision " + precisions[i]);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    eval_loss[i] = last_json(r.output).at("eval_loss").get<double>();
  }
  EXPECT_NEAR(eval_loss[1], eval_loss[0], 0.05 * eval_loss[0]);
  std::cerr << "eval loss after 300 steps: fp32 " << eval_loss[0] << ", bf16 " << eval_loss[1]
            << "\n";
  TempDir other;
  const auto r = run_diffuse("train --config " +
                             other.write("run.yaml", tiny_ring_yaml(other.file("x"))) +
                             " --precision bf16 --dtype float64");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("float64"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace diffuse::testing
