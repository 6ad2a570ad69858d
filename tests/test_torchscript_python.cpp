// The Python round trip (scripts/torchscript_roundtrip.py, Debian's python3-torch) as CTest
// cases: a U-Net trained and scripted in Python, sampled by diffuse and by a plain Python loop
// (1e-10 in float64); a diffuse mlp exported and stepped in Python (1e-12). The script exits 77
// where python3-torch or Fashion-MNIST is missing: a skip, with its message.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

namespace {

struct ScriptResult {
  int exit_code = -1;
  std::string output;
};

ScriptResult run_roundtrip(const std::string& only) {
  const std::string command = "/usr/bin/python3 " DIFFUSE_SOURCE_DIR
                              "/scripts/torchscript_roundtrip.py --quick --only " +
                              only + " --diffuse " DIFFUSE_BINARY " 2>&1";
  ScriptResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) result.output += buffer.data();
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void check_roundtrip(const std::string& only) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const auto r = run_roundtrip(only);
  if (r.exit_code == 77) GTEST_SKIP() << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"failures\": []"), std::string::npos) << r.output;
}

TEST(TorchScriptPython, PythonUnetSampledByDiffuseMatchesThePythonLoop) { check_roundtrip("in"); }

TEST(TorchScriptPython, ExportedMlpRunsInPythonAsInDiffuse) { check_roundtrip("out"); }

}  // namespace
