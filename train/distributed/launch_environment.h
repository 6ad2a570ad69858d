// Where a data-parallel training process stands, read from the environment every
// launcher sets: torchrun, a cluster scheduler's wrapper, or `diffuse train --nproc N` itself.
//
//   RANK         this process, 0..WORLD_SIZE-1       MASTER_ADDR  where rank 0's store listens
//   WORLD_SIZE   processes in the run                MASTER_PORT  its port
//   LOCAL_RANK   this process on its machine (picks the GPU; default 0)
//   TORCHELASTIC_USE_AGENT_STORE=True   the launcher hosts the store (torchrun and --nproc do),
//                                       so rank 0 connects to it instead of opening one
//
//   std::optional<LaunchEnvironment> env = read_launch_environment(getenv);  // nullopt: 1 process
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace diffuse {

struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  std::uint16_t master_port = 29500;
  bool launcher_hosts_store = false;

  bool is_root() const { return rank == 0; }
};

// nullopt when WORLD_SIZE is unset or 1 (a single-process run). InputError naming the variable
// when one is missing or malformed (RANK outside 0..WORLD_SIZE-1, a port outside 1..65535).
// `lookup` returns a variable's value or nullptr (std::getenv in the program, a map in tests).
std::optional<LaunchEnvironment> read_launch_environment(
    const std::function<const char*(const char*)>& lookup);

// The variables a launcher sets for `rank` of `world_size` processes on this machine, with the
// store it hosts on 127.0.0.1:port.
std::vector<std::pair<std::string, std::string>> local_launch_variables(int rank, int world_size,
                                                                        std::uint16_t port);

}  // namespace diffuse
