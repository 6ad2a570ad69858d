// The resolved configuration of one run: every section a command reads, with defaults in one
// place. Loaded from YAML (--config), then `--set key.path=value`, then the command's own flags;
// printed by --print-config and saved beside every output.
#pragma once

#include "core/base/config.h"
#include "core/data/mixture_config.h"
#include "core/metrics/metrics.h"
#include "core/process/process.h"
#include "models/model_factory.h"
#include "samplers/sampler.h"
#include "train/consistency/distill_config.h"
#include "train/finetune/finetune_config.h"
#include "train/trainer/train_config.h"

#include <cstdint>
#include <string>

namespace diffuse {

// `sample:` how many samples, in which batches, from which initial noise, written where.
struct SampleRunConfig {
  std::int64_t num_samples = 4096;
  std::int64_t batch_size = 4096;
  std::string noise;                     // optional .npy of x_T, [num_samples, dims...]
  std::string out = "runs/samples.npy";  // the picture and the config are written beside it
  // Class-conditional models: the class of every sample (-1: each class in turn, balanced) and
  // the classifier-free guidance weight w (0: the conditional model alone).
  std::int64_t label = -1;
  double guidance = 1.0;

  template <class V>
  void visit(V& v) {
    v("num_samples", num_samples, config::at_least<std::int64_t>(1));
    v("batch_size", batch_size, config::at_least<std::int64_t>(1));
    v("noise", noise);
    v("out", out);
    v("label", label, config::at_least<std::int64_t>(-1));
    v("guidance", guidance, config::at_least(0.0));
  }
};

struct RunConfig {
  std::int64_t seed = 0;
  std::string device = "auto";   // auto | cpu | cuda | cuda:N
  std::string dtype = "float32";  // float32 | float64
  int threads = 1;                // LibTorch intra-op threads (see README: 1 is fastest here)
  std::string precision = "fp32";  // fp32 | tf32 | bf16 (core/base/precision.h)
  ProcessConfig process;
  DataConfig data;
  ModelConfig model;
  SamplerConfig sampler;
  SampleRunConfig sample;
  MetricsConfig metrics;
  TrainConfig train;
  DistillConfig distill;  // diffuse distill
  FinetuneConfig finetune;  // diffuse finetune

  template <class V>
  void visit(V& v) {
    v("seed", seed, config::at_least<std::int64_t>(0));
    v("device", device);
    v("dtype", dtype, config::one_of({"float32", "float64"}));
    v("threads", threads, config::at_least(1));
    v("precision", precision, config::one_of({"fp32", "tf32", "bf16"}));
    v("process", process);
    v("data", data);
    v("model", model);
    v("sampler", sampler);
    v("sample", sample);
    v("metrics", metrics);
    v("train", train);
    v("distill", distill);
    v("finetune", finetune);
  }
};

}  // namespace diffuse
