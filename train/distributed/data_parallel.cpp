#include "train/distributed/data_parallel.h"

#include "core/base/errors.h"
#include "train/distributed/gradient_buckets.h"

#include <cstdlib>
#include <string>

// ProcessGroupGloo.hpp declares its class only under USE_C10D_GLOO, which LibTorch's CMake
// config does not export; Gloo's own headers come from libgloo-dev on Debian.
#if __has_include(<gloo/config.h>) && \
    __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define DIFFUSE_HAS_GLOO 1
#else
#define DIFFUSE_HAS_GLOO 0
#endif

namespace diffuse {

Shard shard_of(std::int64_t rows, int rank, int world_size) {
  require(world_size >= 1 && rank >= 0 && rank < world_size,
          "shard_of: rank " + std::to_string(rank) + " of " + std::to_string(world_size));
  const std::int64_t base = rows / world_size, extra = rows % world_size;
  return {rank * base + std::min<std::int64_t>(rank, extra), base + (rank < extra ? 1 : 0)};
}

bool DataParallel::available() { return DIFFUSE_HAS_GLOO; }

#if DIFFUSE_HAS_GLOO

namespace {

// The first line of a c10d error (the rest is a C++ backtrace).
std::string first_line(const std::exception& e) {
  const std::string text = e.what();
  return text.substr(0, text.find('\n'));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// Where Gloo listens: GLOO_SOCKET_IFNAME as in PyTorch, loopback for a one-machine run, else
// the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchEnvironment& env) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (is_loopback(env.master_addr))
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  std::vector<c10::intrusive_ptr<c10d::Work>> in_flight;  // started gradient sums

  // Waits for every work; a failure names this rank and what it was doing.
  template <typename Works>
  void wait(Works& works, const LaunchEnvironment& env, const char* what) {
    try {
      for (auto& work : works) work->wait();
    } catch (const std::exception& e) {
      throw RuntimeFailure("rank " + std::to_string(env.rank) + " of " +
                           std::to_string(env.world_size) + " lost contact with the other ranks "
                           "during " + what + " (" + first_line(e) + "): another rank stopped, "
                           "or the connection or the timeout failed");
    }
  }
};

DataParallel::DataParallel(const LaunchEnvironment& env, std::chrono::milliseconds timeout)
    : env_(env), group_(std::make_unique<Group>()) {
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = env.master_port;
    store_options.isServer = env.is_root() && !env.launcher_hosts_store;
    store_options.numWorkers = static_cast<std::size_t>(env.world_size);
    store_options.waitWorkers = false;
    store_options.timeout = timeout;
    group_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(gloo_device(env));
    group_->gloo =
        c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, env.rank, env.world_size,
                                                    options);
  } catch (const std::exception& e) {
    throw RuntimeFailure("rank " + std::to_string(env.rank) + " of " +
                         std::to_string(env.world_size) + " could not join the process group at " +
                         where + " within " + std::to_string(timeout.count() / 1000) + " s (" +
                         first_line(e) + ")");
  }
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast_from_root(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one{t.detach()};
    works.push_back(group_->gloo->broadcast(one));
  }
  group_->wait(works, env_, "the broadcast of the initial weights");
}

void DataParallel::attach(const std::vector<torch::Tensor>& params) {
  buckets_ = std::make_unique<GradientBuckets>(
      params, kBucketBytes,
      [this](torch::Tensor& flat) {
        std::vector<torch::Tensor> one{flat};
        group_->in_flight.push_back(group_->gloo->allreduce(one));
      },
      [this] {
        auto works = std::move(group_->in_flight);
        group_->in_flight.clear();
        group_->wait(works, env_, "the gradient all-reduce");
      });
}

void DataParallel::sum_gradients(torch::Tensor& scalars) {
  require(buckets_ != nullptr, "DataParallel::sum_gradients before attach()");
  buckets_->finish(scalars);
}

void DataParallel::barrier() {
  std::vector<c10::intrusive_ptr<c10d::Work>> works{group_->gloo->barrier()};
  group_->wait(works, env_, "a barrier");
}

struct HostedStore::Server {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

HostedStore::HostedStore(std::chrono::milliseconds timeout) : server_(std::make_unique<Server>()) {
  c10d::TCPStoreOptions options;
  options.port = 0;  // any free port
  options.isServer = true;
  options.waitWorkers = false;
  options.timeout = timeout;
  try {
    server_->store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
  } catch (const std::exception& e) {
    throw RuntimeFailure("could not open the rendezvous store on 127.0.0.1 (" + first_line(e) +
                         ")");
  }
  port_ = server_->store->getPort();
}

HostedStore::~HostedStore() = default;

#else  // no Gloo: single-process training only

namespace {

[[noreturn]] void no_gloo() {
  throw InputError("this diffuse was built without c10d's Gloo process group, so it cannot "
                   "train on several processes (install libgloo-dev and rebuild)");
}

}  // namespace

struct DataParallel::Group {};

DataParallel::DataParallel(const LaunchEnvironment& env, std::chrono::milliseconds)
    : env_(env) {
  no_gloo();
}

DataParallel::~DataParallel() = default;
void DataParallel::broadcast_from_root(const std::vector<torch::Tensor>&) {}
void DataParallel::attach(const std::vector<torch::Tensor>&) {}
void DataParallel::sum_gradients(torch::Tensor&) {}
void DataParallel::barrier() {}

struct HostedStore::Server {};

HostedStore::HostedStore(std::chrono::milliseconds) { no_gloo(); }

HostedStore::~HostedStore() = default;

#endif

}  // namespace diffuse
