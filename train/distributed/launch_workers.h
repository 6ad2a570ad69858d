// `diffuse train --nproc N`: one machine's launcher. It hosts the rendezvous store on
// 127.0.0.1, starts N copies of this program as ranks 0..N-1 (each with the environment
// train/distributed/launch_environment.h reads, in a process group of their own) and watches them:
//   - when one fails, the others get `grace` to stop by themselves (their next collective fails
//     as soon as the dead rank's connections close), then are terminated: nothing hangs;
//   - Ctrl-C is passed on once to every rank (each saves a checkpoint and exits 130); a second
//     Ctrl-C kills them;
//   - if the launcher itself dies, the kernel kills the ranks (PR_SET_PDEATHSIG).
//
//   int code = launch_local_workers({"diffuse", "train", "--config", "c.yaml"}, 2, timeout);
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace diffuse {

// Runs `argv` (argv[0] is only a name: the program is this executable) as `nproc` ranks and
// returns the exit code: 0 when every rank succeeded, 130 when interrupted, else the first
// failed rank's code (1 for a signal).
int launch_local_workers(const std::vector<std::string>& argv, int nproc,
                         std::chrono::milliseconds timeout,
                         std::chrono::milliseconds grace = std::chrono::seconds(10));

}  // namespace diffuse
