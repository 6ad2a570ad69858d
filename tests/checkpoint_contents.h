// Everything a checkpoint holds, for tests that compare whole training states: each tensor and
// each other value (step, seed, format, ...) under its dotted path, nested archives (model, ema,
// optimizer, rng, ...) walked to the leaves, optimiser state named by parameter order.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace diffuse::testing {

struct CheckpointContents {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> values;  // printed
};

inline void collect_archive(torch::serialize::InputArchive& archive, const std::string& prefix,
                            CheckpointContents& out) {
  for (const auto& key : archive.keys()) {
    torch::Tensor tensor;
    torch::serialize::InputArchive nested;
    c10::IValue value;
    if (archive.try_read(key, tensor)) {
      out.tensors[prefix + key] = tensor;
    } else if (archive.try_read(key, nested)) {
      collect_archive(nested, prefix + key + ".", out);
    } else if (archive.try_read(key, value)) {
      std::ostringstream text;
      text << value;
      out.values[prefix + key] = text.str();
    }
  }
}

// LibTorch's optimisers key each parameter's state by its TensorImpl address
// ("optimizer.state.0x55d0....exp_avg"), listed in order under param_groups/N/params/I. The
// addresses differ from run to run; the parameter's place in that order does not, so it replaces
// them.
inline void name_parameters_by_place(CheckpointContents& contents) {
  std::map<std::string, std::string> place;
  for (const auto& [key, value] : contents.values) {
    const auto at = key.find("params/");
    if (at == std::string::npos || key.find("params/size") != std::string::npos) continue;
    std::string address = value;
    address.erase(std::remove(address.begin(), address.end(), '\''), address.end());
    address.erase(std::remove(address.begin(), address.end(), '"'), address.end());
    place[address] = "param" + key.substr(at + 7);
  }
  const auto rename = [&](std::string text) {
    for (const auto& [address, name] : place)
      for (auto at = text.find(address); at != std::string::npos; at = text.find(address))
        text.replace(at, address.size(), name);
    return text;
  };
  CheckpointContents renamed;
  for (const auto& [key, tensor] : contents.tensors) renamed.tensors[rename(key)] = tensor;
  for (const auto& [key, value] : contents.values) renamed.values[rename(key)] = rename(value);
  contents = std::move(renamed);
}

inline CheckpointContents checkpoint_contents(const std::string& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  CheckpointContents contents;
  collect_archive(archive, "", contents);
  name_parameters_by_place(contents);
  return contents;
}

// The two checkpoints hold the same keys, bit-identical tensors and equal values, except the
// keys in `ignored` (e.g. the config, which names each run's output folder). With relative > 0,
// a floating tensor of a may differ from b's by that much of b's largest entry (float64
// rounding of a reordered sum; an all-zero tensor must still be zero).
inline void expect_same_checkpoint(const std::string& a, const std::string& b,
                                   const std::set<std::string>& ignored = {},
                                   double relative = 0.0) {
  auto x = checkpoint_contents(a), y = checkpoint_contents(b);
  for (const auto& key : ignored) {
    x.values.erase(key);
    y.values.erase(key);
  }
  EXPECT_GT(x.tensors.size(), 0u) << a;
  ASSERT_EQ(x.tensors.size(), y.tensors.size()) << a << " against " << b;
  for (const auto& [key, tensor] : x.tensors) {
    ASSERT_TRUE(y.tensors.count(key)) << b << " lacks " << key;
    const auto& other = y.tensors.at(key);
    if (relative > 0.0 && tensor.is_floating_point() && tensor.sizes() == other.sizes() &&
        tensor.numel() > 0)
      EXPECT_LE((tensor - other).abs().max().item<double>(),
                relative * other.abs().max().item<double>())
          << key;
    else
      EXPECT_TRUE(torch::equal(tensor, other)) << key;
  }
  EXPECT_EQ(x.values, y.values);
}

}  // namespace diffuse::testing
