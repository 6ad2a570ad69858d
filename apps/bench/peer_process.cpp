#include "apps/bench/peer_process.h"

#include "core/base/errors.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

namespace diffuse {

PeerProcess::PeerProcess(const std::vector<std::string>& argv) {
  for (const auto& word : argv) name_ += (name_.empty() ? "" : " ") + word;
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0)
    throw RuntimeFailure("cannot start " + name_ + ": no pipes");
  // A peer that dies must end a write with an error, not end diffuse with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  pid_ = fork();
  if (pid_ < 0) throw RuntimeFailure("cannot start " + name_ + ": fork failed");
  if (pid_ == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) close(fd);
    std::vector<char*> args;
    for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::perror(args[0]);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  to_ = fdopen(to_child[1], "w");
  from_ = fdopen(from_child[0], "r");
}

PeerProcess::~PeerProcess() {
  if (to_) std::fclose(to_);  // end of requests: the peer leaves its loop
  if (from_) std::fclose(from_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

nlohmann::json PeerProcess::read() {
  char* line = nullptr;
  std::size_t capacity = 0;
  const ssize_t length = getline(&line, &capacity, from_);
  const std::string text = length > 0 ? std::string(line, length) : "";
  std::free(line);
  if (length <= 0)
    throw RuntimeFailure(name_ + " ended without answering (see its messages above)");
  const auto reply = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) throw RuntimeFailure(name_ + " printed a line that is not JSON: " + text);
  if (reply.contains("error")) throw RuntimeFailure(name_ + ": " + reply["error"].dump());
  return reply;
}

nlohmann::json PeerProcess::request(const nlohmann::json& message) {
  const std::string line = message.dump() + "\n";
  if (std::fputs(line.c_str(), to_) < 0 || std::fflush(to_) != 0)
    throw RuntimeFailure(name_ + " is no longer reading requests (see its messages above)");
  return read();
}

}  // namespace diffuse
