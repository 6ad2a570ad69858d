// diffuse data: exact samples of the configured data (a mixture, two-moons, or rows of the image
// set) with their labels, so scripts can measure against the true distribution in their own
// coordinates (e.g. the intrinsic coordinates of a low-dimensional mixture).
#include "apps/cli.h"
#include "apps/commands.h"
#include "core/base/runtime.h"
#include "core/data/mixture_config.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace diffuse::cli {

int run_data(int argc, char** argv) {
  cxxopts::Options options(argv[0], "Write exact samples of the configured data (data: section) "
                                    "as .npy, with their labels (mixture components or image "
                                    "classes) beside them as <out>.labels.npy.");
  add_common_options(options);
  options.add_options("Data")
      ("n,num-samples", "number of samples (config key: sample.num_samples)",
       cxxopts::value<std::string>())
      ("o,out", "output .npy (config key: sample.out)", cxxopts::value<std::string>());
  const auto args = parse(options, argc, argv);
  if (printed_help(options, args)) return 0;
  const RunConfig config =
      load_run_config(args, {{"num-samples", "sample.num_samples"}, {"out", "sample.out"}});
  if (args.count("print-config")) {
    std::cout << config::to_yaml(config);
    return 0;
  }
  const std::int64_t n = config.sample.num_samples;
  auto generator = make_generator(static_cast<std::uint64_t>(config.seed));
  torch::Tensor x, labels;
  if (config.data.kind == "idx") {
    const auto images = load_image_data(config.data);
    const auto rows = torch::randperm(images.images.size(0), generator, torch::kInt64)
                          .narrow(0, 0, std::min<std::int64_t>(n, images.images.size(0)));
    x = images.images.index_select(0, rows);
    labels = images.labels.index_select(0, rows);
  } else if (auto mixture = make_mixture(config.data)) {
    auto draw = mixture->sample(n, generator);
    x = draw.x;
    labels = draw.labels;
  } else {
    x = sample_data(config.data, n, generator);
  }
  const auto dtype = parse_dtype(config.dtype);
  ensure_parent_directory(config.sample.out);
  save_npy(config.sample.out, x.reshape({x.size(0), -1}).to(dtype));
  if (labels.defined()) save_npy(sibling_path(config.sample.out, ".labels.npy"), labels);
  const nlohmann::json record = {{"command", "data"},      {"data", config.data.kind},
                                 {"num_samples", x.size(0)}, {"dim", x.numel() / x.size(0)},
                                 {"labels", labels.defined()}, {"out", config.sample.out}};
  std::cout << record.dump() << std::endl;
  return 0;
}

}  // namespace diffuse::cli
