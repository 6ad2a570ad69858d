// The layers' one-way dependencies (docs/design.md, "Layout and dependencies"): a file of one
// library folder includes only headers of its own folder or of folders below it,
//   apps -> apps/bench -> apps/eval -> apps/run -> train -> samplers -> models -> core,
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

const std::map<std::string, int> kLayer = {{"core", 0},       {"models", 1},   {"samplers", 2},
                                           {"train", 3},      {"apps/run", 4}, {"apps/eval", 5},
                                           {"apps/bench", 6}, {"apps", 7}};

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
      "#include \"core/process.h\"\n#include <vector>\n  #include \"samplers/ddpm.h\"\n");
  const auto wrong = upward_includes("models/x.cpp", text);
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0], "models/x.cpp includes \"samplers/ddpm.h\"");
  std::istringstream same("#include \"models/denoiser.h\"\n#include \"core/npy.h\"\n");
  EXPECT_TRUE(upward_includes("models/y.cpp", same).empty());
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
