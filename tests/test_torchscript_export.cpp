// diffuse export (models/torchscript_export.h): the exported module, loaded back as
// model.kind: torchscript, predicts what the C++ network predicts, to 1e-12 in float64, for each
// supported kind (linear, two-layer, mlp, subspace), process and parameterization, conditional
// or not; and the command writes it.
#include "core/base/errors.h"
#include "core/io/npy.h"
#include "models/denoiser.h"
#include "models/model_factory.h"
#include "models/network_factory.h"
#include "models/torchscript.h"
#include "models/torchscript_export.h"
#include "tests/cli_runner.h"
#include "tests/temp_dir.h"
#include "tests/train_fixture.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>

namespace diffuse {
namespace {

using testing::TempDir;

struct ExportCase {
  const char* process;
  const char* parameterization;
  int num_classes;
  const char* kind = "mlp";
  const char* matrix = "full";  // linear, two-layer: W full or diag
  const char* latent = "mlp";   // subspace: the latent network's kind
  int rank = 0;                 // subspace, low-rank linear: the latent dimension (0: none)
};

// gtest prints a failing case by its fields, not its bytes.
void PrintTo(const ExportCase& c, std::ostream* os) {
  *os << c.kind << " (" << c.matrix << ", latent " << c.latent << ", rank " << c.rank << ") on "
      << c.process << ", " << c.parameterization << ", " << c.num_classes << " classes";
}

ExportCase of_kind(const char* kind, const char* matrix, const char* latent, int rank,
                   const char* process, const char* parameterization) {
  ExportCase c{process, parameterization, 0};
  c.kind = kind;
  c.matrix = matrix;
  c.latent = latent;
  c.rank = rank;
  return c;
}

class TorchScriptExport : public ::testing::TestWithParam<ExportCase> {};

TEST_P(TorchScriptExport, ReloadedModulePredictsAsTheNetwork) {
  const auto& param = GetParam();
  const char* process_kind = param.process;
  const char* parameterization = param.parameterization;
  const int num_classes = param.num_classes;
  ProcessConfig pc;
  pc.kind = process_kind;
  if (pc.kind == "vp-linear") pc.beta_max = 18.5;  // a non-default schedule travels too
  const auto process = make_process(pc);
  ModelConfig m;
  m.kind = param.kind;
  m.width = 16;
  m.depth = 2;
  m.embedding_dim = 8;
  m.hidden = 8;
  m.components = 3;
  m.matrix = param.matrix;
  m.latent = param.latent;
  if (param.rank > 0) m.rank = param.rank;
  m.basis_init = "random";
  m.parameterization = parameterization;
  m.sigma_data = 0.6;
  m.dim = 6;
  m.num_classes = num_classes;
  torch::manual_seed(3);
  const auto options = torch::dtype(torch::kFloat64);
  const auto net = make_network(m, process, options);
  {
    torch::NoGradGuard no_grad;  // the zero-initialised output layers would hide the network
    for (auto& p : net->module()->parameters()) p.normal_(0.0, 0.3);
  }
  TempDir dir;
  const std::string path = dir.file("net.ts");
  save_torchscript(export_torchscript(*net, m, pc, {2, 3}), path);

  ModelConfig ts;
  ts.kind = "torchscript";
  ts.path = path;  // prediction, shape, num_classes and sigma_data come from its attributes
  ts.dim = 6;
  const auto loaded = make_model(ts, process, DataConfig{}, options);
  EXPECT_EQ(loaded->parameterization(), net->parameterization());
  EXPECT_EQ(loaded->num_classes(), num_classes);
  const auto x = torch::randn({5, 6}, torch::kFloat64) * 1.5;
  const double lo = process->t_min(), hi = process->t_max();
  const auto t = lo + (hi - lo) * torch::tensor({0.0, 0.1, 0.4, 0.8, 1.0}, torch::kFloat64);
  torch::Tensor ours, theirs;
  if (num_classes > 0) {
    const auto labels = torch::tensor({0, 1, 2, 0, 2}, torch::kInt64);  // 2: the null label
    ours = net->forward_labelled(x, t, labels);
    theirs = loaded->forward_labelled(x, t, labels);
  } else {
    ours = net->forward(x, t);
    theirs = loaded->forward(x, t);
  }
  const double scale = ours.abs().max().item<double>();
  EXPECT_GT(scale, 1e-3);
  const double diff64 = (ours - theirs).abs().max().item<double>();
  EXPECT_LT(diff64, 1e-12 * std::max(1.0, scale)) << process_kind << " " << parameterization;
  // One row: linear and two-layer take their shared-noise-level branch (h [1, hidden]).
  if (num_classes == 0) {
    const auto x1 = x.narrow(0, 2, 1), t1 = t.narrow(0, 2, 1);
    EXPECT_LT((net->forward(x1, t1) - loaded->forward(x1, t1)).abs().max().item<double>(),
              1e-12 * std::max(1.0, scale));
  }
  // float32: the same module in single precision agrees to float32 rounding.
  const auto single = make_model(ts, process, DataConfig{}, torch::dtype(torch::kFloat32));
  const auto single_out =
      num_classes > 0 ? single->forward_labelled(x.to(torch::kFloat32), t.to(torch::kFloat32),
                                                 torch::tensor({0, 1, 2, 0, 2}))
                      : single->forward(x.to(torch::kFloat32), t.to(torch::kFloat32));
  const double diff32 = (single_out.to(torch::kFloat64) - ours).abs().max().item<double>();
  EXPECT_LT(diff32, 1e-4 * std::max(1.0, scale));
  std::printf("[ export %s ] max |out| %.3g, float64 diff %.3g, float32 diff %.3g\n", param.kind,
              scale, diff64, diff32);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, TorchScriptExport,
    ::testing::Values(ExportCase{"vp-linear", "eps", 0}, ExportCase{"vp-linear", "v", 2},
                      ExportCase{"vp-ou", "x0", 0}, ExportCase{"vp-cosine", "velocity", 0},
                      ExportCase{"ve-geometric", "eps", 0}, ExportCase{"edm", "edm", 0},
                      ExportCase{"ve", "score", 0}, ExportCase{"rf", "velocity", 0},
                      of_kind("linear", "full", "", 0, "vp-linear", "eps"),
                      of_kind("linear", "diag", "", 0, "edm", "edm"),
                      of_kind("linear", "full", "", 2, "ve", "score"),
                      of_kind("two-layer", "full", "", 0, "vp-cosine", "velocity"),
                      of_kind("two-layer", "diag", "", 0, "rf", "velocity"),
                      of_kind("two-layer", "full", "", 0, "vp-ou", "x0"),
                      of_kind("subspace", "full", "mlp", 3, "vp-linear", "v"),
                      of_kind("subspace", "full", "two-layer", 3, "edm", "edm"),
                      of_kind("subspace", "diag", "linear", 2, "rf", "velocity"),
                      of_kind("subspace", "full", "mlp", 3, "ve-geometric", "score")),
    [](const auto& info) {
      const auto& p = info.param;
      std::string name = std::string(p.process) + "_" + p.parameterization;
      if (std::string(p.kind) != "mlp") {
        std::string kind = std::string(p.kind) + "_" + p.matrix;
        if (std::string(p.kind) == "subspace") kind += std::string("_") + p.latent;
        if (p.rank > 0) kind += "_rank" + std::to_string(p.rank);
        name = kind + "_" + name;
      }
      for (auto& c : name)
        if (c == '-') c = '_';
      return name;
    });

TEST(TorchScriptExport, UnsupportedKindsAreInputErrors) {
  ProcessConfig pc;
  pc.kind = "ddpm";
  ModelConfig m;
  m.kind = "mlp";
  m.width = 8;
  m.depth = 1;
  m.embedding_dim = 8;
  m.parameterization = "eps";
  m.sigma_data = 1.0;
  m.dim = 2;
  const auto process = make_process(pc);
  const auto net = make_network(m, process, torch::dtype(torch::kFloat32));
  EXPECT_THROW(export_torchscript(*net, m, pc, {2}), InputError);
  // A consistency model (a different forward, models/consistency.h) is refused by name, and the
  // message lists the kinds that export.
  ProcessConfig edm;
  edm.kind = "edm";
  m.consistency = true;
  const auto consistency = make_network(m, make_process(edm), torch::dtype(torch::kFloat32));
  try {
    export_torchscript(*consistency, m, edm, {2});
    ADD_FAILURE() << "a consistency model exported";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("consistency"), std::string::npos) << what;
    EXPECT_NE(what.find("linear, two-layer, mlp or subspace"), std::string::npos) << what;
  }
}

// `sample --model checkpoint` and `sample` of the exported module under the run's config draw
// the same points from the same noise (DDIM, 5 steps, float64): to 1e-10 of their size.
void expect_same_samples(const TempDir& dir, const std::string& checkpoint,
                         const std::string& config, const std::string& module) {
  const auto a = testing::run_diffuse("sample --model " + checkpoint +
                                      " --sampler ddim --steps 5 -n 32 --set dtype=float64 -o " +
                                      dir.file("a.npy"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const auto b = testing::run_diffuse(
      "sample --config " + config + " --set model.kind=torchscript --set model.path=" + module +
      " --sampler ddim --steps 5 -n 32 --set dtype=float64 -o " + dir.file("b.npy"));
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const auto samples_a = load_npy(dir.file("a.npy")).to(torch::kFloat64);
  const auto samples_b = load_npy(dir.file("b.npy")).to(torch::kFloat64);
  ASSERT_EQ(samples_a.sizes(), samples_b.sizes());
  const double scale = samples_a.abs().max().item<double>();
  EXPECT_LT((samples_a - samples_b).abs().max().item<double>(), 1e-10 * std::max(1.0, scale));
}

// The command on a tiny trained checkpoint, then `diffuse sample` of the module it wrote.
TEST(TorchScriptExportCli, ExportsACheckpointThatSamplesAsTorchScript) {
  TempDir dir;
  const auto config = dir.write("run.yaml", testing::tiny_ring_yaml(dir.file("run")));
  ASSERT_EQ(testing::run_diffuse("train --config " + config).exit_code, 0);
  const auto checkpoint = dir.file("run/checkpoint.pt");
  const auto out = dir.file("model.ts");
  const auto exported = testing::run_diffuse("export --model " + checkpoint + " --out " + out);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const auto record = testing::last_json(exported.output);
  EXPECT_EQ(record["prediction"], "eps");
  EXPECT_EQ(record["shape"], nlohmann::json::array({2}));
  // The checkpoint and the module sample the same points from the same noise.
  expect_same_samples(dir, checkpoint, config, out);
  // eval --model MODULE.ts --samples FILE measures the file under --config, as without --model.
  const auto measured = testing::run_diffuse("eval --config " + config + " --model " + out +
                                             " --samples " + dir.file("a.npy"));
  const auto plain =
      testing::run_diffuse("eval --config " + config + " --samples " + dir.file("a.npy"));
  ASSERT_EQ(measured.exit_code, 0) << measured.output;
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(testing::last_json(measured.output), testing::last_json(plain.output));
  // eval --model: the module's DSM loss on the same draws is the checkpoint's (float64 both).
  const auto eval_ckpt =
      testing::run_diffuse("eval --model " + checkpoint + " --num-draws 2048 --set dtype=float64");
  const auto eval_module = testing::run_diffuse("eval --config " + config + " --model " + out +
                                                " --num-draws 2048 --set dtype=float64");
  ASSERT_EQ(eval_ckpt.exit_code, 0) << eval_ckpt.output;
  ASSERT_EQ(eval_module.exit_code, 0) << eval_module.output;
  const double loss_ckpt = testing::last_json(eval_ckpt.output)["dsm_loss"].get<double>();
  const double loss_module = testing::last_json(eval_module.output)["dsm_loss"].get<double>();
  EXPECT_GT(loss_ckpt, 0.0);
  EXPECT_NEAR(loss_module, loss_ckpt, 1e-12 * loss_ckpt);
  // The module as a distillation teacher (its attributes say what it predicts).
  const auto distilled =
      testing::run_diffuse("distill --config " + config + " --teacher " + out +
                           " --steps 2 --set distill.eval_samples=32 -o " + dir.file("student"));
  EXPECT_EQ(distilled.exit_code, 0) << distilled.output;
  EXPECT_NE(distilled.output.find("from torchscript"), std::string::npos) << distilled.output;
  const auto bad = testing::run_diffuse("export --model " + config + " --out " + out);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  const auto garbage = dir.write("garbage.ts", "not TorchScript");
  const auto refused = testing::run_diffuse(
      "sample --config " + config + " --set model.kind=torchscript --set model.path=" + garbage +
      " --set model.prediction=eps -n 4 -o " + dir.file("c.npy"));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find(garbage), std::string::npos) << refused.output;
}

// A checkpoint of another kind (subspace around a two-layer latent) exports from its stored
// config (rank, latent, components) and samples as the checkpoint does.
TEST(TorchScriptExportCli, ExportsASubspaceCheckpoint) {
  TempDir dir;
  std::string yaml = testing::tiny_ring_yaml(dir.file("run"));
  const std::string mlp = "model: {kind: mlp, width: 32, depth: 2, embedding_dim: 16}";
  ASSERT_NE(yaml.find(mlp), std::string::npos);
  yaml.replace(yaml.find(mlp), mlp.size(),
               "model: {kind: subspace, latent: two-layer, rank: 1, components: 4, hidden: 16, "
               "embedding_dim: 16}");
  const auto config = dir.write("run.yaml", yaml);
  ASSERT_EQ(testing::run_diffuse("train --config " + config).exit_code, 0);
  const auto checkpoint = dir.file("run/checkpoint.pt");
  const auto out = dir.file("model.ts");
  const auto exported = testing::run_diffuse("export --model " + checkpoint + " --out " + out);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  expect_same_samples(dir, checkpoint, config, out);
}

}  // namespace
}  // namespace diffuse
