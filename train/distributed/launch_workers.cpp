#include "train/distributed/launch_workers.h"

#include "core/base/errors.h"
#include "train/distributed/data_parallel.h"
#include "train/distributed/launch_environment.h"

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

extern char** environ;

namespace diffuse {

namespace {

volatile std::sig_atomic_t interrupts_received = 0;
volatile std::sig_atomic_t termination_received = 0;

void on_interrupt(int) { interrupts_received = interrupts_received + 1; }
void on_terminate(int) { termination_received = 1; }

// This process's environment without the launch variables, plus those of `rank`. Unless the
// user set them, OpenMP's and OpenBLAS's pools get this machine's cores divided by the ranks (as
// torchrun does), since N ranks with a pool of all cores each oversubscribe them.
std::vector<std::string> worker_environment(int rank, int nproc, std::uint16_t port) {
  auto launch = local_launch_variables(rank, nproc, port);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::string threads = std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc)));
  for (const char* pool : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"})
    if (std::getenv(pool) == nullptr) launch.emplace_back(pool, threads);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [key, value] : launch) overridden = overridden || key == name;
    if (!overridden) env.push_back(entry);
  }
  for (const auto& [key, value] : launch) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (auto& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

struct Worker {
  int rank = 0;
  pid_t pid = -1;
  bool running = true;
  int status = 0;
};

class WorkerSet {
 public:
  WorkerSet(std::vector<std::string> argv, int nproc, std::uint16_t port) {
    const pid_t launcher = getpid();
    for (int rank = 0; rank < nproc; ++rank) {
      auto env = worker_environment(rank, nproc, port);
      auto args = argv;
      auto env_p = pointers(env), args_p = pointers(args);
      const pid_t pid = fork();
      if (pid < 0) {
        signal_running(SIGKILL);
        throw RuntimeFailure(std::string("could not start rank ") + std::to_string(rank) + ": " +
                             std::strerror(errno));
      }
      if (pid == 0) {  // only async-signal-safe calls until exec
        setpgid(0, group_);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != launcher) _exit(1);
        execve("/proc/self/exe", args_p.data(), env_p.data());
        _exit(127);
      }
      setpgid(pid, group_);  // also here: whichever of the two runs first
      if (group_ == 0) group_ = pid;
      workers_.push_back({rank, pid});
    }
  }

  std::vector<Worker>& workers() { return workers_; }

  void signal_running(int signal) {
    for (auto& w : workers_)
      if (w.running) kill(w.pid, signal);
  }
  // Collects the ranks that ended; returns them.
  std::vector<Worker*> reap() {
    std::vector<Worker*> ended;
    for (auto& w : workers_) {
      if (!w.running) continue;
      if (waitpid(w.pid, &w.status, WNOHANG) == w.pid) {
        w.running = false;
        ended.push_back(&w);
      }
    }
    return ended;
  }

  bool any_running() const {
    for (const auto& w : workers_)
      if (w.running) return true;
    return false;
  }

 private:
  std::vector<Worker> workers_;
  pid_t group_ = 0;
};

bool succeeded(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
bool interrupted(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 130; }

}  // namespace

int launch_local_workers(const std::vector<std::string>& argv, int nproc,
                         std::chrono::milliseconds timeout, std::chrono::milliseconds grace) {
  using Clock = std::chrono::steady_clock;
  HostedStore store(timeout);
  interrupts_received = 0;
  termination_received = 0;
  const auto previous_int = std::signal(SIGINT, on_interrupt);
  const auto previous_term = std::signal(SIGTERM, on_terminate);
  WorkerSet set(argv, nproc, store.port());
  std::cerr << "launched " << nproc << " ranks (store 127.0.0.1:" << store.port() << ")\n";

  int forwarded_interrupts = 0;
  bool terminated = false, any_interrupted = false;
  const Worker* first_failure = nullptr;
  Clock::time_point deadline{};  // after a failure: when the others are terminated
  bool sent_term = false;
  while (set.any_running()) {
    if (interrupts_received > forwarded_interrupts) {
      forwarded_interrupts = interrupts_received;
      set.signal_running(forwarded_interrupts == 1 ? SIGINT : SIGKILL);
    }
    if (termination_received && !terminated) {
      terminated = true;
      set.signal_running(SIGTERM);
    }
    for (Worker* w : set.reap()) {
      any_interrupted = any_interrupted || interrupted(w->status);
      if (succeeded(w->status) || interrupted(w->status)) continue;
      std::cerr << "diffuse train: rank " << w->rank << " (pid " << w->pid << ") "
                << describe_status(w->status) << "\n";
      if (first_failure == nullptr) {
        first_failure = w;
        deadline = Clock::now() + grace;
      }
    }
    if (first_failure && set.any_running() && Clock::now() >= deadline) {
      if (sent_term)
        std::cerr << "diffuse train: ranks still running 5 s after SIGTERM; killing them\n";
      else
        std::cerr << "diffuse train: the other ranks did not stop within "
                  << std::chrono::duration_cast<std::chrono::seconds>(grace).count()
                  << " s of rank " << first_failure->rank << "'s failure; terminating them\n";
      set.signal_running(sent_term ? SIGKILL : SIGTERM);
      sent_term = true;
      deadline = Clock::now() + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);

  if (first_failure) {
    const int status = first_failure->status;
    return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1;
  }
  if (any_interrupted || terminated) return 130;
  return 0;
}

}  // namespace diffuse
