#include "apps/bench/peer.h"

#include "core/base/errors.h"
#include "core/base/precision.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"
#include "models/torchscript.h"
#include "samplers/registry.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

namespace diffuse {

namespace fs = std::filesystem;

namespace {

// The peer's match test: |x_peer - x_diffuse| <= tolerance * max(1, max |x_diffuse|). The two
// run the same float32 operations in the same order, except that diffuse computes an mlp's
// noise path once per evaluation where the peer computes it per row (the same values from a
// product of another shape); what may differ is the last bit of a host coefficient or of a
// kernel's summation order, a few float32 ulps per evaluation. A GPU's
// libraries may pick another kernel (another summation order) for the same product from one
// process to the next, so its tolerance is looser.
constexpr double kCheckTolerance = 1e-5;
constexpr double kCudaCheckTolerance = 1e-4;

// vp-linear's default rates (core/process/process_vp.cpp), the ones bench_train_step.py hard-codes.
constexpr double kBeta0 = 0.1, kBeta1 = 20.0;

fs::path default_script() {
  // build/diffuse -> scripts/bench_peer.py beside the build folder; else relative to cwd.
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path beside = exe.parent_path().parent_path() / "scripts" / "bench_peer.py";
    if (fs::is_regular_file(beside)) return beside;
  }
  return fs::path("scripts") / "bench_peer.py";
}

fs::path temporary_folder() {
  std::random_device random;
  const fs::path path = fs::temp_directory_path() / ("diffuse-bench-" + std::to_string(getpid()) +
                                                     "-" + std::to_string(random()));
  fs::create_directories(path);
  return path;
}

void export_weights(const torch::nn::Module& module, const fs::path& folder) {
  fs::create_directories(folder);
  const auto save = [&](const auto& named) {
    for (const auto& item : named)
      save_npy((folder / (item.key() + ".npy")).string(), item.value().detach().to(torch::kCPU));
  };
  save(module.named_parameters());
  save(module.named_buffers());
}

nlohmann::json case_spec(const SamplingCase& c, std::size_t index, const fs::path& folder,
                         bool cuda) {
  const std::string stem = (folder / ("case" + std::to_string(index))).string();
  save_npy(stem + ".noise.npy", c.x_T().to(torch::kCPU));
  save_npy(stem + ".diffuse.npy", c.x_0());
  return {{"sampler", c.spec().sampler},       {"steps", c.spec().steps},
          {"batch", c.spec().batch},           {"noise", stem + ".noise.npy"},
          {"expected", stem + ".diffuse.npy"},
          {"tolerance", cuda ? kCudaCheckTolerance : kCheckTolerance}};
}

// spec.json and the files it names; returns its path.
std::string write_spec(const fs::path& folder, const PeerOptions& options, const BenchModel& model,
                       const std::vector<SamplingCase>& cases, const PeerTraining& training) {
  fs::create_directories(folder);
  const ModelConfig& m = model.model_config;
  if (model.network) export_weights(*model.network->module(), folder / "weights");
  nlohmann::json spec = {{"threads", options.threads},
                         {"device", options.device},
                         {"weights", (folder / "weights").string()},
                         {"model", nullptr},
                         {"process",
                          {{"b0", kBeta0},
                           {"b1", kBeta1},
                           {"t_min", model.process->t_min()},
                           {"t_max", model.process->t_max()}}},
                         {"cases", nlohmann::json::array()},
                         {"train", nullptr}};
  if (const auto* ts = dynamic_cast<const TorchScriptModel*>(model.model.get())) {
    // The peer loads the same TorchScript file and calls it as a user's Python loop would.
    spec["model"] = {{"torchscript", ts->path()}, {"shape", ts->shape()}};
  } else {
    spec["model"] = {{"dim", *m.dim},
                     {"width", m.width},
                     {"depth", m.depth},
                     {"layer_norm", m.layer_norm},
                     {"embedding_dim", m.embedding_dim},
                     {"sigma_data", *m.sigma_data}};
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    spec["cases"].push_back(case_spec(cases[i], i, folder, options.device != "cpu"));
    spec["cases"].back()["times"] = sampler_grid(cases[i].config(), *model.process);
  }
  if (!training.data.empty() && model.network)
    spec["train"] = {{"data", training.data},   {"width", m.width},  {"depth", m.depth},
                     {"batch", training.batch}, {"lr", training.lr}, {"layer_norm", m.layer_norm}};
  const std::string path = (folder / "spec.json").string();
  write_file_atomically(path, spec.dump(1) + "\n");
  return path;
}

}  // namespace

const std::vector<std::string>& peer_samplers() {
  static const std::vector<std::string> names = {"ddim", "dpm-solver-1", "dpm-solver-2",
                                                 "dpm-solver-3"};
  return names;
}

void check_peer_supports(const BenchModel& model, const std::vector<std::string>& samplers,
                         const RunContext& run) {
  const auto refuse = [](const std::string& what) {
    throw InputError("--peer: " + what +
                     "; scripts/bench_peer.py reproduces an unconditional "
                     "mlp or TorchScript module (eps) on vp-linear with beta 0.1..20, in float32");
  };
  const ModelConfig& m = model.model_config;
  if (m.kind == "torchscript") {
    if (model.model->parameterization() != Parameterization::eps || m.prediction == "edm" ||
        model.model->num_classes() > 0)
      refuse("the TorchScript module is not an unconditional eps-prediction module");
  } else if (!model.network || m.kind != "mlp") {
    refuse("model.kind is " + m.kind + ", not mlp or torchscript");
  } else if (m.parameterization != "eps" || m.num_classes > 0 || m.consistency) {
    refuse("the mlp is not an unconditional eps-prediction network");
  }
  const ProcessConfig& p = model.process_config;
  if (p.kind != "vp-linear" || p.beta_min.value_or(kBeta0) != kBeta0 ||
      p.beta_max.value_or(kBeta1) != kBeta1)
    refuse("the process is " + p.kind + " with other rates");
  if (run.dtype != torch::kFloat32) refuse("the run is not float32");
  if (current_precision() != Precision::fp32) refuse("the run's precision is not fp32");
  for (const auto& name : samplers)
    if (std::find(peer_samplers().begin(), peer_samplers().end(), name) == peer_samplers().end())
      refuse("sampler '" + name + "' is not one of ddim, dpm-solver-1, dpm-solver-2, dpm-solver-3");
}

PeerTraining peer_training(const DataConfig& data, const TrainConfig& train) {
  PeerTraining t;
  if (data.kind == "ring8") t.data = "ring8";
  if (data.kind == "idx") t.data = "images";
  t.batch = train.batch_size;
  t.lr = train.lr;
  return t;
}

BenchPeer::BenchPeer(const PeerOptions& options, const BenchModel& model,
                     const std::vector<SamplingCase>& cases, const PeerTraining& training) {
  const std::string script = options.script.empty() ? default_script().string() : options.script;
  if (!fs::is_regular_file(script))
    throw InputError("--peer: no peer script " + script + " (give it with --peer-script)");
  if (!fs::is_regular_file(options.python))
    throw InputError("--python " + options.python + ": no such file");
  command_ = options.python + " " + script;
  remove_folder_ = options.folder.empty();
  folder_ = (remove_folder_ ? temporary_folder() : fs::path(options.folder)).string();
  try {
    const std::string spec = write_spec(folder_, options, model, cases, training);
    process_ =
        std::make_unique<PeerProcess>(std::vector<std::string>{options.python, script, spec});
    hello_ = process_->read();
  } catch (const RuntimeFailure& e) {
    clean_up();
    throw RuntimeFailure(std::string(e.what()) + "; the peer needs PyTorch and NumPy for " +
                         options.python + " (Debian: apt-get install python3-torch)");
  } catch (...) {
    clean_up();
    throw;
  }
}

void BenchPeer::clean_up() {
  process_.reset();  // ends the peer first: it may still read the folder
  std::error_code ignored;
  if (remove_folder_) fs::remove_all(folder_, ignored);
}

BenchPeer::~BenchPeer() { clean_up(); }

nlohmann::json BenchPeer::check(std::size_t case_index) {
  return process_->request({{"op", "check"}, {"case", case_index}});
}

std::vector<double> BenchPeer::time_sample(std::size_t case_index, int runs) {
  const auto reply = process_->request({{"op", "sample"}, {"case", case_index}, {"runs", runs}});
  return reply.at("seconds").get<std::vector<double>>();
}

nlohmann::json BenchPeer::time_train(std::int64_t steps) {
  return process_->request({{"op", "train"}, {"steps", steps}});
}

}  // namespace diffuse
