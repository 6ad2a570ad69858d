// What the commands write beside their results: the samples (.npy), a picture (a scatter plot
// for 2-D data, an image grid for 28x28 images), the resolved config, and JSON Lines records.
#pragma once

#include "apps/run/run_config.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace diffuse {

// The shape of one sample of the configured data, e.g. {2} or {784}.
std::vector<std::int64_t> data_sample_shape(const DataConfig& data);

// Writes config.sample.out (.npy), its .png picture and its .config.yaml. Returns the .png path
// (empty when the data has no picture).
std::string write_sample_outputs(const RunConfig& config, const torch::Tensor& samples);

// Appends `record` to metrics.jsonl in the folder of `output_path`.
void append_metrics(const std::string& output_path, const nlohmann::json& record);

}  // namespace diffuse
