// The DPM-Solver family's registry rows (conventions in samplers/dpm_solver.h).
#include "samplers/dpm_solver.h"

#include "samplers/families.h"

namespace diffuse {

namespace {

// The fast mixes build their own grid: every evaluation time of the order mix for NFE = steps.
SamplerInfo with_fast_grid(SamplerInfo row, int max_order) {
  row.make_grid = [max_order](const ForwardProcess& process, const TimeGridConfig& grid) {
    return dpm_solver_fast_grid(process, grid, max_order);
  };
  return row;
}

SampleFunction singlestep_sampler(DpmPrediction prediction, int order) {
  return SampleFunction::of<SpacingOptions>(
      [prediction, order](const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times,
                          NoiseSource&, const SpacingOptions& options) {
        return sample_dpm_solver_singlestep(denoiser, std::move(x), times, options, prediction,
                                            order);
      });
}

SampleFunction fast_mix_sampler(int max_order) {
  return SampleFunction::of<NoOptions>([max_order](const Denoiser& denoiser, torch::Tensor x,
                                                   const TimeGrid& times, NoiseSource&,
                                                   const NoOptions&) {
    return sample_dpm_solver_fast(denoiser, std::move(x), times, max_order);
  });
}

SampleFunction multistep_3m_sampler(bool corrected) {
  return SampleFunction::of<MultistepOptions>(
      [corrected](const Denoiser& denoiser, torch::Tensor x, const TimeGrid& times, NoiseSource&,
                  const MultistepOptions& options) {
        return sample_dpmpp_3m(denoiser, std::move(x), times, options, corrected);
      });
}

}  // namespace

std::vector<SamplerInfo> dpm_solver_samplers() {
  // Orders are the measured global orders (tests/test_dpm_solver.cpp). The fast mixes end with a
  // first-order step for some NFE, so they are second order as a whole. SDE-DPM-Solver++(2M):
  // weak order 2 (variance bias 2.8%, 0.67%, 0.15% at 32, 64, 128 logSNR steps, Gaussian data).
  const auto noise = DpmPrediction::noise;
  return {
      {"dpm-solver-1", "DPM-Solver-1, noise prediction (Lu et al. 2022); DDIM with eta = 0", 1,
       false, evaluations_per_step(1), {}, singlestep_sampler(noise, 1)},
      {"dpm-solver-2", "singlestep DPM-Solver-2, midpoint r1 = 1/2 (Lu et al. 2022, Alg. 1)", 2,
       false, evaluations_per_step(2), {}, singlestep_sampler(noise, 2)},
      {"dpm-solver-3", "singlestep DPM-Solver-3, r1 = 1/3, r2 = 2/3 (Lu et al. 2022, Alg. 2)", 3,
       false, evaluations_per_step(3), {}, singlestep_sampler(noise, 3)},
      with_fast_grid({"dpm-solver-fast",
                      "DPM-Solver-fast: singlestep orders 3,..,3,2|1, steps = NFE (Lu 2022)", 2,
                      false, evaluations_per_step(1), {}, fast_mix_sampler(3)},
                     3),
      with_fast_grid({"dpm-solver-fast-2",
                      "DPM-Solver-fast, orders 2,..,2[,1], steps = NFE (Lu et al. 2022)", 2,
                      false, evaluations_per_step(1), {}, fast_mix_sampler(2)},
                     2),
      {"dpm-solver++2s", "DPM-Solver++(2S): singlestep, data prediction (Lu et al. 2022b, Alg. 1)",
       2, false, evaluations_per_step(2), {}, singlestep_sampler(DpmPrediction::data, 2)},
      {"dpm-solver++2m", "DPM-Solver++(2M): multistep, data prediction (Lu et al. 2022b, Alg. 2)",
       2, false, evaluations_per_step(1), {}, sample_dpmpp_2m},
      {"dpm-solver++3m", "DPM-Solver++(3M) as the authors ship it: second order (D2 halved)", 2,
       false, evaluations_per_step(1), {}, multistep_3m_sampler(false)},
      {"dpm-solver++3m-corrected", "DPM-Solver++(3M) with the full second difference: third order",
       3, false, evaluations_per_step(1), {}, multistep_3m_sampler(true)},
      {"sde-dpm-solver++2m", "SDE-DPM-Solver++(2M): reverse SDE in lambda, data prediction", 2,
       true, evaluations_per_step(1), {}, sample_sde_dpmpp_2m},
  };
}

}  // namespace diffuse
