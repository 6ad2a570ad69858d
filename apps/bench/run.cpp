#include "apps/bench/run.h"

#include "apps/bench/environment.h"
#include "apps/bench/flops.h"
#include "apps/bench/stats.h"
#include "apps/run/outputs.h"
#include "models/subspace.h"

#include <cmath>
#include <cstdio>
#include <optional>

namespace diffuse {

namespace {

// Peer timings next to diffuse's: the peer's figures and peer median / diffuse median.
void add_peer_times(nlohmann::json& record, const TimingStats& ours, const TimingStats& peer,
                    double scale) {
  record["peer"]["time"] = to_json(peer, scale);
  record["peer_over_diffuse"] = peer.median / ours.median;
}

// What the rates need: the network's FLOPs per sample and the device's measured peak.
struct Arithmetic {
  double flops_per_sample = 0.0;  // 0: not a network
  double shared_per_call = 0.0;   // of those, run once per call when the batch shares its time
  PeakRate peak;

  // A sampling run's FLOPs: every evaluation is at one time shared by the batch.
  double sampling_flops(std::int64_t batch, std::int64_t nfe) const {
    return ((flops_per_sample - shared_per_call) * static_cast<double>(batch) + shared_per_call) *
           static_cast<double>(nfe);
  }
};

// The raw network whose noise path a sampling evaluation shares: the model's own, or a subspace
// model's latent network's (SubspaceModel::forward_at hands it the shared time); null if none.
std::shared_ptr<RawNetworkImpl> raw_network(const NetworkModel& model) {
  if (const auto* subspace = dynamic_cast<const SubspaceModel*>(&model))
    return raw_network(*subspace->latent());
  return std::dynamic_pointer_cast<RawNetworkImpl>(model.module());
}

double largest_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// The configuration replayed as a CUDA graph: its times beside the eager ones.
nlohmann::json time_graph(SamplingCase& c, const BenchPlan& plan, const TimingStats& eager,
                          const Arithmetic& arithmetic, const TimingStats* peer_times) {
  const std::string obstacle = c.capture_graph();
  if (!obstacle.empty()) return {{"skipped", obstacle}};
  for (int i = 0; i < plan.warmup; ++i) c.time_graph_run();
  std::vector<double> seconds;
  for (int r = 0; r < plan.repeats; ++r) seconds.push_back(c.time_graph_run());
  const TimingStats s = summarize(seconds);
  nlohmann::json record = {{"ms", to_json(s, 1e3)},
                           {"samples_per_s", c.spec().batch / s.median},
                           {"nfe_per_s", c.nfe() / s.median},
                           {"eager_over_graph", eager.median / s.median},
                           {"max_abs_diff_to_eager", largest_difference(c.graph_x_0(), c.x_0())}};
  if (arithmetic.flops_per_sample > 0.0)
    record["rate"] = achieved_rate(arithmetic.sampling_flops(c.spec().batch, c.nfe()), s.median,
                                   arithmetic.peak);
  if (peer_times) record["peer_over_graph"] = peer_times->median / s.median;
  std::fprintf(stderr, "; CUDA graph %.3f ms (eager/graph %.2f)", s.median * 1e3,
               eager.median / s.median);
  return record;
}

nlohmann::json time_sampling(SamplingCase& c, std::size_t index, const BenchPlan& plan,
                             const Arithmetic& arithmetic, BenchPeer* peer) {
  const auto& spec = c.spec();
  nlohmann::json record = {
      {"sampler", spec.sampler}, {"steps", spec.steps}, {"batch", spec.batch}, {"nfe", c.nfe()}};
  if (peer) record["peer"]["check"] = peer->check(index);
  for (int i = 0; i < plan.warmup; ++i) c.time_run();
  if (peer && plan.warmup > 0) peer->time_sample(index, plan.warmup);
  std::vector<double> ours, theirs;
  for (int r = 0; r < plan.repeats; ++r) {  // alternating: load drift hits both sides
    ours.push_back(c.time_run());
    if (peer) theirs.push_back(peer->time_sample(index, 1).front());
  }
  const TimingStats s = summarize(ours);
  record["ms"] = to_json(s, 1e3);
  record["samples_per_s"] = spec.batch / s.median;
  record["nfe_per_s"] = c.nfe() / s.median;
  if (arithmetic.flops_per_sample > 0.0)
    record["rate"] =
        achieved_rate(arithmetic.sampling_flops(spec.batch, c.nfe()), s.median, arithmetic.peak);
  std::fprintf(stderr, "bench %s K=%d B=%lld: %.3f ms [%.3f, %.3f], %.0f samples/s, %.0f NFE/s",
               spec.sampler.c_str(), spec.steps, static_cast<long long>(spec.batch), s.median * 1e3,
               s.min * 1e3, s.max * 1e3, spec.batch / s.median, c.nfe() / s.median);
  std::optional<TimingStats> p;
  if (peer) {
    p = summarize(theirs);
    add_peer_times(record, s, *p, 1e3);
    record["peer"]["samples_per_s"] = spec.batch / p->median;
    std::fprintf(stderr, "; peer %.3f ms, peer/diffuse %.2f (check %s)", p->median * 1e3,
                 p->median / s.median,
                 record["peer"]["check"].value("match", false) ? "ok" : "MISMATCH");
  }
  if (plan.cuda_graph && c.x_T().is_cuda())
    record["cuda_graph"] = time_graph(c, plan, s, arithmetic, p ? &*p : nullptr);
  std::fprintf(stderr, "\n");
  return record;
}

nlohmann::json time_training(Trainer& trainer, const BenchPlan& plan, const RunConfig& config,
                             const Arithmetic& arithmetic, BenchPeer* peer,
                             const PeerTraining& peer_training) {
  nlohmann::json record = {{"batch_size", config.train.batch_size},
                           {"steps_per_repeat", plan.train_steps}};
  std::vector<double> wall, cpu, theirs;
  for (int r = 0; r < plan.repeats; ++r) {
    // Five untimed steps first (Adam's state, the allocator's caches), as `train --bench-steps`.
    const auto timing = trainer.time_steps(plan.train_steps, r == 0 ? 5 : 0);
    wall.push_back(timing.wall_seconds);
    cpu.push_back(timing.cpu_seconds);
    if (peer && !peer_training.data.empty())
      theirs.push_back(peer->time_train(plan.train_steps).at("ms_per_step").get<double>() / 1e3);
  }
  const TimingStats s = summarize(wall);
  record["ms_per_step"] = to_json(s, 1e3);
  record["cpu_ms_per_step"] = to_json(summarize(cpu), 1e3);
  record["steps_per_s"] = 1.0 / s.median;
  // The backward pass costs about twice the forward's multiply-adds.
  record["rate"] = achieved_rate(3.0 * arithmetic.flops_per_sample * config.train.batch_size,
                                 s.median, arithmetic.peak);
  std::fprintf(stderr, "bench training step B=%lld: %.3f ms [%.3f, %.3f]",
               static_cast<long long>(config.train.batch_size), s.median * 1e3, s.min * 1e3,
               s.max * 1e3);
  if (!theirs.empty()) {
    const TimingStats p = summarize(theirs);
    add_peer_times(record, s, p, 1e3);
    record["peer"]["script"] = "scripts/bench_train_step.py --data " + peer_training.data;
    std::fprintf(stderr, "; peer %.3f ms, peer/diffuse %.2f", p.median * 1e3, p.median / s.median);
  } else if (peer) {
    record["peer"] = {{"skipped", "bench_train_step.py has ring8 and image data only"}};
  }
  std::fprintf(stderr, "\n");
  return record;
}

}  // namespace

nlohmann::json run_bench(const BenchPlan& plan, BenchModel& model, const RunConfig& config,
                         const RunContext& run) {
  nlohmann::json report = {{"command", "bench"}, {"environment", bench_environment(run)}};
  report["model"] = {{"describe", model.model->describe()},
                     {"weights", model.source},
                     {"process", model.process->name()},
                     {"data", config.data.kind}};
  report["settings"] = {{"repeats", plan.repeats},
                        {"warmup", plan.warmup},
                        {"grid", "logsnr"},
                        {"timed", "x_T -> x_0 per batch (grid, coefficients, evaluations)"}};
  Arithmetic arithmetic;
  if (model.network) {
    arithmetic.flops_per_sample = forward_flops_per_sample(*model.network->module());
    arithmetic.peak = measure_matmul_peak(run.options());
    report["model"]["forward_flops_per_sample"] = arithmetic.flops_per_sample;
    const auto raw = raw_network(*model.network);
    if (raw && raw->shares_noise_path()) {
      arithmetic.shared_per_call = raw->noise_path_flops();
      report["model"]["noise_path_flops_per_call"] = arithmetic.shared_per_call;
    }
    report["environment"]["matmul_peak"] = to_json(arithmetic.peak);
  }
  const Denoiser denoiser(model.model, model.process);
  std::vector<SamplingCase> cases;
  for (const auto& spec : plan.sampling)  // each runs once here: x_0 for the check
    cases.emplace_back(denoiser, spec, data_sample_shape(config.data), run.options(),
                       static_cast<std::uint64_t>(config.seed));

  std::optional<BenchPeer> peer;
  const PeerTraining training = peer_training(config.data, config.train);
  if (plan.peer) {
    peer.emplace(plan.peer_options, model, cases, training);
    report["peer"] = {{"command", peer->command()},
                      {"torch", peer->hello().value("torch", "")},
                      {"python", peer->hello().value("python", "")},
                      {"threads", peer->hello().value("threads", 0)}};
  }
  BenchPeer* peer_ptr = peer ? &*peer : nullptr;
  report["sampling"] = nlohmann::json::array();
  for (std::size_t i = 0; i < cases.size(); ++i)
    report["sampling"].push_back(time_sampling(cases[i], i, plan, arithmetic, peer_ptr));

  if (!model.trainer)
    report["training"] = {{"skipped", model.no_training}};
  else if (plan.train_steps == 0)
    report["training"] = {{"skipped", "--train-steps 0"}};
  else
    report["training"] =
        time_training(*model.trainer, plan, config, arithmetic, peer_ptr, training);
  report["environment"]["load_average_end"] = load_average();
  return report;
}

bool peer_matched(const nlohmann::json& report) {
  for (const auto& record : report.value("sampling", nlohmann::json::array()))
    if (record.contains("peer") && !record["peer"]["check"].value("match", false)) return false;
  return true;
}

}  // namespace diffuse
