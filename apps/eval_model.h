// `diffuse eval --model CHECKPOINT`: the DSM loss of a trained network next to the loss of the
// analytic oracle on the same draws (the exact minimum of the objective) and the score
// estimation error, for data with a Gaussian mixture; without one, the network's loss
// alone. With --sample N it also draws N samples with the checkpoint's sampler and measures them
// as `eval --samples` would (mixture metrics, or the classifier's for images).
#pragma once

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace diffuse::cli {

// Adds --model, --num-draws, --raw-weights and --sample to eval's options.
void add_eval_model_options(cxxopts::Options& options);

// Runs the comparison; classifier: a train-classifier checkpoint for image data ("" for none).
nlohmann::json eval_model(const cxxopts::ParseResult& args, const std::string& classifier);

}  // namespace diffuse::cli
