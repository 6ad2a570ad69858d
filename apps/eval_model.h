// `diffuse eval --model CHECKPOINT`: the DSM loss of a trained network next to the loss of the
// analytic oracle on the same draws (the exact minimum of the objective), for data with a
// Gaussian mixture (issue 6); without one, the network's loss alone.
#pragma once

#include <cxxopts.hpp>

namespace diffuse::cli {

// Adds --model, --num-draws and --raw-weights to eval's options.
void add_eval_model_options(cxxopts::Options& options);

// Runs the comparison and prints one JSON object; returns the exit code.
int eval_model(const cxxopts::ParseResult& args);

}  // namespace diffuse::cli
