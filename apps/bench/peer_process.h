// A child process spoken to in JSON lines: one request a line on its stdin, one reply a line on
// its stdout; its stderr is ours, so its messages (a Python traceback, say) reach the user.
// `diffuse bench --peer` runs scripts/bench_peer.py this way, so that diffuse's timed runs and
// the peer's can alternate one by one.
//
//   PeerProcess peer({"/usr/bin/python3", "scripts/bench_peer.py", "spec.json"});
//   nlohmann::json hello = peer.read();                      // its first line
//   nlohmann::json reply = peer.request({{"op", "check"}});
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

namespace diffuse {

class PeerProcess {
 public:
  // RuntimeFailure when the process cannot be started.
  explicit PeerProcess(const std::vector<std::string>& argv);
  ~PeerProcess();  // closes its stdin (the end of requests) and waits for it
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  // The next line it prints, as JSON; RuntimeFailure when it ends first or prints no JSON.
  nlohmann::json read();
  // Writes `message` as one line and returns the reply; a reply {"error": ...} is a
  // RuntimeFailure.
  nlohmann::json request(const nlohmann::json& message);

 private:
  std::string name_;  // the command line, for messages
  pid_t pid_ = -1;
  std::FILE* to_ = nullptr;
  std::FILE* from_ = nullptr;
};

}  // namespace diffuse
