#include "apps/run/outputs.h"

#include "apps/run/run_context.h"
#include "core/base/runtime.h"
#include "core/io/atomic_file.h"
#include "core/io/image.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"

#include <filesystem>

namespace diffuse {

std::vector<std::int64_t> data_sample_shape(const DataConfig& data) {
  if (data.kind == "idx") return {784};
  if (data.kind == "two-moons") return {2};
  return {make_mixture(data)->dim()};
}

std::string write_sample_outputs(const RunConfig& config, const torch::Tensor& samples) {
  const std::string& out = config.sample.out;
  ensure_parent_directory(out);
  save_npy(out, samples);
  save_config(config, sibling_path(out, ".config.yaml"));
  const std::string picture = sibling_path(out, ".png");
  if (samples.dim() == 2 && samples.size(1) == 2 && config.data.kind != "idx") {
    // Reference points from the data itself (grey) under the samples (blue).
    auto generator = make_generator(static_cast<std::uint64_t>(config.seed) + 1);
    const auto reference = sample_data(config.data, std::min<std::int64_t>(samples.size(0), 4096),
                                       generator);
    write_scatter_png(picture, samples, {}, reference);
    return picture;
  }
  if (samples.dim() == 2 && samples.size(1) == 784) {
    const auto first = samples.narrow(0, 0, std::min<std::int64_t>(samples.size(0), 100));
    write_image_grid(picture, first.reshape({-1, 28, 28}));
    return picture;
  }
  return "";
}

void append_metrics(const std::string& output_path, const nlohmann::json& record) {
  const auto folder = std::filesystem::path(output_path).parent_path();
  JsonlWriter((folder / "metrics.jsonl").string()).write(record);
}

}  // namespace diffuse
