// The layers' one-way dependencies (docs/design.md, "Layout and dependencies"): a file of one
// library folder includes only headers of its own folder or of folders below it,
//   apps -> train -> samplers -> models -> core,
// read from the `#include "folder/..."` lines of every source file. The linker alone would not
// catch a header-only step the wrong way, and a wrong step is how layers start to knot.
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

const std::map<std::string, int> kLayer = {
    {"core", 0}, {"models", 1}, {"samplers", 2}, {"train", 3}, {"apps", 4}};

// "apps/cli.cpp includes train/x.h" for every include of `file` (in folder `folder`) that points
// to a folder above it.
std::vector<std::string> upward_includes(const std::string& folder, const std::string& file,
                                         std::istream& text) {
  static const std::regex include(R"(^\s*#\s*include\s*"([a-z_]+)/[^"]+")");
  std::vector<std::string> wrong;
  std::string line;
  std::smatch match;
  while (std::getline(text, line)) {
    if (!std::regex_search(line, match, include)) continue;
    const auto target = kLayer.find(match[1].str());
    if (target != kLayer.end() && target->second > kLayer.at(folder))
      wrong.push_back(file + " includes " + line.substr(line.find('"')));
  }
  return wrong;
}

TEST(IncludeGraph, TheCheckCatchesAStepUpward) {
  std::istringstream text(
      "#include \"core/process.h\"\n#include <vector>\n  #include \"samplers/ddpm.h\"\n");
  const auto wrong = upward_includes("models", "models/x.cpp", text);
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0], "models/x.cpp includes \"samplers/ddpm.h\"");
  std::istringstream same("#include \"models/denoiser.h\"\n#include \"core/npy.h\"\n");
  EXPECT_TRUE(upward_includes("models", "models/y.cpp", same).empty());
}

TEST(IncludeGraph, EveryLibraryIncludesOnlyItsOwnLayerAndThoseBelow) {
  const fs::path root(DIFFUSE_SOURCE_DIR);
  std::vector<std::string> wrong;
  int files = 0;
  for (const auto& [folder, layer] : kLayer) {
    ASSERT_TRUE(fs::is_directory(root / folder)) << folder;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cpp") continue;
      std::ifstream text(entry.path());
      const auto name = fs::relative(entry.path(), root).string();
      for (auto& w : upward_includes(folder, name, text)) wrong.push_back(std::move(w));
      ++files;
    }
  }
  EXPECT_GT(files, 100);  // the walk found the tree
  for (const auto& w : wrong) ADD_FAILURE() << w;
}

}  // namespace
}  // namespace diffuse::testing
