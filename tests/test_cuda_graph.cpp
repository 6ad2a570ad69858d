// CUDA graphs for sampling. On a GPU: every deterministic sampler's graph replay
// equals its eager run to float32 rounding, for the captured x_T and for a new one (the input
// is really copied in), generate() with graphs equals generate() without them, the partial last
// batch included, and samplers that draw noise run eagerly with the same result. Everywhere:
// the reasons a run stays eager, and the eager fallback's equality with run_sampler.
#include "core/base/compat.h"
#include "core/base/errors.h"
#include "core/process/process.h"
#include "samplers/cuda_graph.h"
#include "samplers/generate.h"
#include "samplers/registry.h"
#include "tests/network_fixture.h"

#include <gtest/gtest.h>

#include <utility>

namespace diffuse::testing {
namespace {

// drawn_mlp on `device`: the samples depend on every layer.
struct GraphFixture {
  ProcessPtr process;
  NetworkModelPtr network;
  torch::TensorOptions options;

  explicit GraphFixture(torch::Device device, const std::string& process_kind = "vp-linear") {
    ProcessConfig pc;
    pc.kind = process_kind;
    process = make_process(pc);
    network = drawn_mlp(process, 0.1);
    network->module()->to(device);
    options = torch::TensorOptions().device(device).dtype(torch::kFloat32);
  }

  torch::Tensor x_T(std::int64_t batch, std::uint64_t seed) const {
    NoiseSource noise(seed, 0);
    return noise.next({batch, 8}, options) * process->prior_std();
  }
};

double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  const auto a64 = a.to(torch::kCPU, torch::kFloat64), b64 = b.to(torch::kCPU, torch::kFloat64);
  return ((a64 - b64).abs().max() / std::max(1.0, b64.abs().max().item<double>())).item<double>();
}

// float32 rounding over a run: a few ulps per evaluation, relative to the samples' size.
constexpr double kFloat32Run = 1e-5;

bool deterministic(const SamplerInfo& row) { return !row.stochastic && !row.adaptive; }

TEST(CudaGraphTest, EverywhereSaysWhyARunStaysEager) {
  const GraphFixture f(torch::kCPU);
  SamplerConfig config;
  config.name = "ddim";
  const auto cpu_x = f.x_T(4, 0);
  EXPECT_NE(graph_capture_obstacle(config, cpu_x), "");  // no CUDA build, or a CPU tensor
  if (compat::cuda_available()) {
    const auto gpu_x = cpu_x.to(torch::kCUDA);
    EXPECT_EQ(graph_capture_obstacle(config, gpu_x), "");
    config.name = "ddpm";
    EXPECT_NE(graph_capture_obstacle(config, gpu_x).find("noise"), std::string::npos);
    config.name = "rk45";
    EXPECT_NE(graph_capture_obstacle(config, gpu_x).find("host"), std::string::npos);
    config.name = "heun";
    config.s_churn = 1.0;
    EXPECT_NE(graph_capture_obstacle(config, gpu_x).find("s_churn"), std::string::npos);
  }
}

TEST(CudaGraphTest, OnTheCpuTheGraphRunsEagerlyWithTheSameResultAndNfe) {
  const GraphFixture f(torch::kCPU);
  const Denoiser denoiser(f.network, f.process);
  SamplerConfig config;
  config.name = "dpm-solver-3";
  config.steps = 6;
  const auto x_T = f.x_T(5, 1);
  const SamplerGraph graph(config, denoiser, x_T);
  EXPECT_FALSE(graph.captured());
  EXPECT_FALSE(graph.obstacle().empty());
  NoiseSource a(1, 0), b(1, 0);
  EXPECT_TRUE(torch::equal(graph.run(x_T, a), run_sampler(config, denoiser, x_T, b)));
  EXPECT_EQ(graph.nfe(), sampler_nfe(config, *f.process));

  GenerateRequest request;
  request.num_samples = 7;
  request.batch_size = 4;
  EXPECT_EQ(generate(config, denoiser, {8}, f.options, request).cuda_graph, "")
      << "a CPU run reports no CUDA graph";
}

TEST(CudaGraphTest, ReplayEqualsEagerForEveryDeterministicSampler) {
  if (!compat::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (const std::string kind : {"vp-linear", "ve", "edm", "rf"}) {
    const GraphFixture f(torch::kCUDA, kind);
    const Denoiser denoiser(f.network, f.process);
    for (const SamplerInfo& row : sampler_registry()) {
      if (!deterministic(row) || !row.supports(*f.process)) continue;
      SCOPED_TRACE(kind + " / " + row.name);
      SamplerConfig config;
      config.name = row.name;
      config.steps = 8;
      const auto x_T = f.x_T(32, 2), other_x_T = f.x_T(32, 3);
      NoiseSource unused(0, 0);
      // Every deterministic row runs on a plain network (the consistency row is stochastic), so
      // an InputError here is a failure, not a reason to skip the row.
      const auto eager = run_sampler(config, denoiser, x_T, unused);
      const auto other_eager = run_sampler(config, denoiser, other_x_T, unused);
      const SamplerGraph graph(config, denoiser, x_T);
      ASSERT_TRUE(graph.captured()) << graph.obstacle();
      EXPECT_EQ(graph.nfe(), sampler_nfe(config, *f.process));
      EXPECT_LE(relative_difference(graph.run(x_T, unused), eager), kFloat32Run);
      EXPECT_LE(relative_difference(graph.run(other_x_T, unused), other_eager), kFloat32Run)
          << "the replay did not read the new x_T";
      EXPECT_GT(relative_difference(eager, other_eager), 1e-2) << "the two x_T look alike";
    }
  }
}

// generate() on the GPU with sampler.cuda_graph on, then off: {with graphs, without}.
std::pair<GenerateResult, GenerateResult> generate_with_and_without_graphs(
    const std::string& sampler, std::int64_t num_samples, std::int64_t batch_size) {
  const GraphFixture f(torch::kCUDA);
  const Denoiser denoiser(f.network, f.process);
  SamplerConfig config;
  config.name = sampler;
  config.steps = 10;
  GenerateRequest request;
  request.num_samples = num_samples;
  request.batch_size = batch_size;
  auto with = generate(config, denoiser, {8}, f.options, request);
  config.cuda_graph = false;
  return {std::move(with), generate(config, denoiser, {8}, f.options, request)};
}

TEST(CudaGraphTest, GenerateWithGraphsEqualsGenerateWithout) {
  if (!compat::cuda_available()) GTEST_SKIP() << "no CUDA device";
  // Two full batches and a last one of 44: two graphs.
  const auto [graphs, eager] = generate_with_and_without_graphs("unipc-bh2-3", 300, 128);
  EXPECT_EQ(graphs.cuda_graph, "replayed");
  EXPECT_NE(eager.cuda_graph.find("off"), std::string::npos) << eager.cuda_graph;
  EXPECT_EQ(graphs.nfe, eager.nfe);
  ASSERT_EQ(graphs.samples.sizes(), eager.samples.sizes());
  EXPECT_LE(relative_difference(graphs.samples, eager.samples), kFloat32Run);
}

TEST(CudaGraphTest, SamplersThatDrawNoiseRunEagerlyWithTheSameDraws) {
  if (!compat::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const auto [with, without] = generate_with_and_without_graphs("ddpm", 20, 8);
  EXPECT_NE(with.cuda_graph.find("noise"), std::string::npos) << with.cuda_graph;
  EXPECT_TRUE(torch::equal(with.samples, without.samples));
}

TEST(CudaTest, CudaSamplesEqualCpuSamplesToFloat32Rounding) {
  if (!compat::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const GraphFixture cpu(torch::kCPU), gpu(torch::kCUDA);
  SamplerConfig config;
  config.name = "dpm-solver-3";
  config.steps = 10;
  config.cuda_graph = false;
  GenerateRequest request;
  request.num_samples = 64;
  request.batch_size = 64;
  const auto on_cpu = generate(config, Denoiser(cpu.network, cpu.process), {8}, cpu.options,
                               request);
  // The noise comes from the device's generators: give both sides the CPU's x_T.
  request.initial_noise = cpu.x_T(64, 0);
  const auto cpu_same = generate(config, Denoiser(cpu.network, cpu.process), {8}, cpu.options,
                                 request);
  const auto on_gpu = generate(config, Denoiser(gpu.network, gpu.process), {8}, gpu.options,
                               request);
  EXPECT_EQ(on_cpu.samples.sizes(), on_gpu.samples.sizes());
  // Different kernels (another summation order), so a looser bound than graph vs eager.
  EXPECT_LE(relative_difference(on_gpu.samples, cpu_same.samples), 1e-4);
}

}  // namespace
}  // namespace diffuse::testing
