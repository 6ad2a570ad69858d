#include "tests/cli_runner.h"

#include <sys/wait.h>

#include <cstdlib>
#include <sstream>

namespace diffuse::testing {

CommandResult run_diffuse(const std::string& arguments) {
  TempDir scratch;
  const std::string log = scratch.file("output.txt");
  const std::string command = std::string("DIFFUSE_QUIET=1 '") + DIFFUSE_BINARY + "' " + arguments +
                              " > '" + log + "' 2>&1";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.output = read_bytes(log);
  return result;
}

nlohmann::json last_json(const std::string& output) {
  std::istringstream lines(output);
  std::string line, last;
  while (std::getline(lines, line))
    if (!line.empty() && line.front() == '{') last = line;
  return last.empty() ? nlohmann::json() : nlohmann::json::parse(last);
}

}  // namespace diffuse::testing
