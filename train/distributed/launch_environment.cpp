#include "train/distributed/launch_environment.h"

#include "core/base/errors.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

namespace diffuse {

namespace {

// The integer value of `name`, or `fallback` when it is unset; InputError when it is not an
// integer in [low, high].
long read_integer(const std::function<const char*(const char*)>& lookup, const char* name,
                  std::optional<long> fallback, long low, long high) {
  const char* text = lookup(name);
  if (text == nullptr || *text == '\0') {
    require(fallback.has_value(), std::string("distributed launch: ") + name +
                                      " is not set (a launcher sets RANK, WORLD_SIZE, "
                                      "MASTER_ADDR and MASTER_PORT together)");
    return *fallback;
  }
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  require(errno == 0 && *end == '\0' && value >= low && value <= high,
          std::string("distributed launch: ") + name + "='" + text +
              "' is not an integer in " + std::to_string(low) + ".." + std::to_string(high));
  return value;
}

}  // namespace

std::optional<LaunchEnvironment> read_launch_environment(
    const std::function<const char*(const char*)>& lookup) {
  const long world_size =
      read_integer(lookup, "WORLD_SIZE", 1, 1, std::numeric_limits<int>::max());
  if (world_size == 1) return std::nullopt;
  LaunchEnvironment env;
  env.world_size = static_cast<int>(world_size);
  env.rank = static_cast<int>(read_integer(lookup, "RANK", std::nullopt, 0, world_size - 1));
  env.local_rank = static_cast<int>(
      read_integer(lookup, "LOCAL_RANK", 0, 0, std::numeric_limits<int>::max()));
  env.master_port =
      static_cast<std::uint16_t>(read_integer(lookup, "MASTER_PORT", std::nullopt, 1, 65535));
  const char* addr = lookup("MASTER_ADDR");
  require(addr != nullptr && *addr != '\0',
          "distributed launch: MASTER_ADDR is not set (the host of rank 0's store)");
  env.master_addr = addr;
  const char* agent = lookup("TORCHELASTIC_USE_AGENT_STORE");
  env.launcher_hosts_store = agent != nullptr && (std::string(agent) == "True" ||
                                                  std::string(agent) == "true" ||
                                                  std::string(agent) == "1");
  return env;
}

std::vector<std::pair<std::string, std::string>> local_launch_variables(int rank, int world_size,
                                                                        std::uint16_t port) {
  return {{"RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world_size)},
          {"LOCAL_RANK", std::to_string(rank)},
          {"LOCAL_WORLD_SIZE", std::to_string(world_size)},
          {"MASTER_ADDR", "127.0.0.1"},
          {"MASTER_PORT", std::to_string(port)},
          {"TORCHELASTIC_USE_AGENT_STORE", "True"}};
}

}  // namespace diffuse
