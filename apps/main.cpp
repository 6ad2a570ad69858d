// diffuse: train score networks by denoising score matching and sample diffusion models.
// Thin dispatcher: finds the subcommand, runs it, and maps errors to exit codes
// (0 success, 1 runtime failure, 2 usage or config error).
#include "apps/commands.h"
#include "core/base/compat.h"
#include "core/base/errors.h"
#include "core/base/runtime.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>

namespace {

using diffuse::cli::Command;

const Command kCommands[] = {
    {"train", "train a score network by denoising score matching",
     diffuse::cli::run_train},
    {"sample", "draw samples with a sampler from a model or the analytic score",
     diffuse::cli::run_sample},
    {"eval", "measure samples against the data's exact mixture (NLL, W2, MMD, modes)",
     diffuse::cli::run_eval},
    {"data", "write exact samples of the configured data (and their labels) as .npy",
     diffuse::cli::run_data},
    {"train-classifier", "train the image classifier that eval --classifier measures with",
     diffuse::cli::run_train_classifier},
    {"distill", "distill a one-step consistency model", diffuse::cli::run_distill},
    {"finetune", "fine-tune a trained model on a few examples",
     diffuse::cli::run_finetune},
    {"bench", "time samplers and training steps", diffuse::cli::run_bench},
    {"export", "write a trained network as a TorchScript module for PyTorch",
     diffuse::cli::run_export},
    {"schedule", "fit a sampler's time grid at an NFE budget against the exact map",
     diffuse::cli::run_schedule},
};

void print_usage(std::ostream& out) {
  out << "diffuse " << DIFFUSE_VERSION << ": diffusion models' training and sampling, measured\n\n"
      << "usage: diffuse <command> [options]   (diffuse <command> --help for its options)\n\n"
      << "commands:\n";
  std::size_t width = 0;  // the name column fits the longest name
  for (const auto& c : kCommands) width = std::max(width, std::strlen(c.name) + 2);
  for (const auto& c : kCommands)
    out << "  " << c.name << std::string(width - std::strlen(c.name), ' ') << c.summary
        << (c.run ? "" : " (not yet available)") << "\n";
  out << "\nexit codes: 0 success, 1 runtime failure, 2 usage or config error\n";
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (name == "--version") {
    std::cout << "diffuse " << DIFFUSE_VERSION << " (LibTorch " << diffuse::compat::torch_version()
              << (DIFFUSE_WITH_CUDA ? ", CUDA" : ", CPU only") << ")\n";
    return 0;
  }
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    if (!c.run) {
      std::cerr << "diffuse " << name << ": not yet available in this version\n";
      return 2;
    }
    std::string program = "diffuse " + name;
    argv[1] = program.data();  // cxxopts shows argv[0] in errors and help
    return c.run(argc - 1, argv + 1);
  }
  std::cerr << "diffuse: unknown command '" << name << "'\n\n";
  print_usage(std::cerr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  diffuse::retain_freed_memory();
  try {
    return dispatch(argc, argv);
  } catch (const diffuse::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const diffuse::RuntimeFailure& e) {
    std::cerr << "failed: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    // LibTorch's messages carry a C++ backtrace after the first line; users need the first.
    std::cerr << "failed: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "failed: " << e.what() << "\n";
    return 1;
  }
}
