// The layers' one-way dependencies (docs/design.md, "Layout and dependencies"): a file of one
// library folder includes only headers of its own folder or of folders below it,
//   apps -> apps/bench -> apps/eval -> apps/run -> train -> samplers -> models -> core,
// and inside core (base -> io -> math -> process -> data -> metrics, each on those before it)
// and train (distributed, dsm -> trainer -> consistency, finetune; classifier),
// read from the `#include "folder/..."` lines of every source file (a path's layer is that of
// its longest listed folder, so apps/bench/run.h is in apps/bench, apps/cli.h in apps). The linker
// alone would not catch a header-only step the wrong way, and a wrong step is how layers start to
// knot.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace diffuse::testing {
namespace {

namespace fs = std::filesystem;

// Ranks: a folder may include its own headers and those of folders of lower rank. Inside core
// and train each concept folder is a library of its own, ordered too.
const std::map<std::string, int> kLayer = {
    {"core", 0},          {"core/base", 0},          {"core/io", 1},
    {"core/math", 2},     {"core/process", 3},       {"core/data", 4},
    {"core/metrics", 5},  {"models", 10},            {"samplers", 20},
    {"train", 30},        {"train/distributed", 30}, {"train/dsm", 31},    {"train/trainer", 32},
    {"train/consistency", 33}, {"train/finetune", 34}, {"train/classifier", 35},
    {"apps/run", 40},     {"apps/eval", 50},         {"apps/bench", 60},
    {"apps", 70}};

// The layer of a repository path: that of its longest listed folder; -1 outside them all.
int layer_of(const std::string& path) {
  int layer = -1;
  std::size_t longest = 0;
  for (const auto& [folder, rank] : kLayer)
    if (path.rfind(folder + "/", 0) == 0 && folder.size() > longest) {
      layer = rank;
      longest = folder.size();
    }
  return layer;
}

// "models/x.cpp includes "samplers/ddpm.h"" for every include of `file` that points to a layer
// above the file's own.
std::vector<std::string> upward_includes(const std::string& file, std::istream& text) {
  static const std::regex include(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> wrong;
  std::string line;
  std::smatch match;
  while (std::getline(text, line)) {
    if (!std::regex_search(line, match, include)) continue;
    if (layer_of(match[1].str()) > layer_of(file))
      wrong.push_back(file + " includes \"" + match[1].str() + "\"");
  }
  return wrong;
}

TEST(IncludeGraph, TheCheckCatchesAStepUpward) {
  std::istringstream text(
      "#include \"core/process/process.h\"\n#include <vector>\n  #include \"samplers/ddpm.h\"\n");
  const auto wrong = upward_includes("models/x.cpp", text);
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0], "models/x.cpp includes \"samplers/ddpm.h\"");
  std::istringstream same("#include \"models/denoiser.h\"\n#include \"core/io/npy.h\"\n");
  EXPECT_TRUE(upward_includes("models/y.cpp", same).empty());
  // Inside core and train: concept libraries are ordered too.
  std::istringstream process("#include \"core/base/errors.h\"\n#include \"core/data/batcher.h\"\n");
  EXPECT_EQ(upward_includes("core/process/process.cpp", process),
            std::vector<std::string>{
                "core/process/process.cpp includes \"core/data/batcher.h\""});
  std::istringstream dsm("#include \"train/trainer/ema.h\"\n");
  EXPECT_EQ(upward_includes("train/dsm/dsm_loss.h", dsm).size(), 1u);
  // Inside apps/: the bench library may use apps/run, not the argv parsing of apps/cli.h.
  std::istringstream bench("#include \"apps/run/run_context.h\"\n#include \"apps/cli.h\"\n");
  EXPECT_EQ(upward_includes("apps/bench/model.h", bench),
            std::vector<std::string>{"apps/bench/model.h includes \"apps/cli.h\""});
}

TEST(IncludeGraph, EveryLibraryIncludesOnlyItsOwnLayerAndThoseBelow) {
  const fs::path root(DIFFUSE_SOURCE_DIR);
  std::vector<std::string> wrong;
  int files = 0;
  for (const auto& [folder, layer] : kLayer) {
    if (folder.find('/') != std::string::npos) continue;  // walked with its parent
    ASSERT_TRUE(fs::is_directory(root / folder)) << folder;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cpp") continue;
      std::ifstream text(entry.path());
      const auto name = fs::relative(entry.path(), root).string();
      for (auto& w : upward_includes(name, text)) wrong.push_back(std::move(w));
      ++files;
    }
  }
  EXPECT_GT(files, 100);  // the walk found the tree
  for (const auto& w : wrong) ADD_FAILURE() << w;
}

}  // namespace
}  // namespace diffuse::testing
