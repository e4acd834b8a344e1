// BenchSession: one bench run's CRI client for one endpoint. Each call it
// makes on the scenario's behalf is timed into an OpRecorder under its CRI
// method name; each pod and container it creates is tracked by id until
// removed, so that cleanup() can remove whatever a failure or an interrupt
// left behind.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cmd/crixctl/op_recorder.h"
#include "common/error.h"
#include "crix/proto/api.grpc.pb.h"

namespace crix::bench {

namespace v1 = ::runtime::v1;

// Every bench pod and container carries this label, valued with the run id.
inline constexpr const char* kRunLabel = "crix-bench/run";
inline constexpr const char* kNamespace = "crix-bench";

struct SessionConfig {
  std::string endpoint;  // unix:///path, a socket path, or any gRPC target
  std::string image;
  std::string runtimeHandler;
  std::string runId;
  std::string logDir;  // pods' log directories go under it
  int stopTimeout = 0;
  std::chrono::seconds rpcTimeout{120};
  bool sharedPid = false;  // pods share one PID namespace
  bool userns = false;     // pods get a user namespace of their own, 65536 ids each
};

struct Pod {
  std::string id;
  v1::PodSandboxConfig config;
};

class BenchSession {
 public:
  BenchSession(SessionConfig cfg, OpRecorder& recorder);

  const SessionConfig& config() const { return cfg_; }

  // Untimed calls, for setting up and reporting.
  Result<v1::VersionResponse> version();
  Result<std::map<std::string, std::string>> verboseInfo();
  Result<bool> imagePresent();
  Result<void> ensureImage();  // pulls the image unless present
  Result<void> dropImage();

  // Timed calls.
  Result<void> pullImage();
  Result<void> removeImage();
  Result<Pod> runPod();
  // CreateContainer and StartContainer of `sleep 3600`, named sleep-<index>.
  // A container running `command` (default: sleep 3600).
  Result<std::string> runContainer(const Pod& pod, int index = 0, const std::vector<std::string>& command = {});
  Result<void> removeContainer(const std::string& id);  // Stop and Remove
  Result<void> removePod(const Pod& pod);               // Stop and Remove
  Result<void> execTrue(const std::string& containerId);
  // `true` through the streaming server: the Exec call, the SPDY upgrade and
  // streams, until the exit status arrives ("Exec+stream").
  Result<void> execStreamTrue(const std::string& containerId);
  // GET http://localhost:<port><path> inside the pod through PortForward and
  // SPDY ("PortForward GET"); returns the bytes received.
  Result<size_t> portForwardGet(const std::string& podId, uint16_t port, const std::string& path);
  Result<size_t> listContainers();
  // StreamContainers read to its last item (timed so); a runtime without
  // it (UNIMPLEMENTED) is asked ListContainers instead, timed as that.
  Result<size_t> streamContainers();
  Result<size_t> listPods();

  // Off: timed calls are made but not recorded (warm-up).
  void setRecording(bool on) { recording_ = on; }

  // The bench's pods and containers that exist now.
  std::pair<size_t, size_t> alive() const;

  // Removes, untimed and with `workers` threads, every tracked container and
  // pod, then whatever else carries this run's label; returns how many pods
  // and containers with the label remain.
  size_t cleanup(int workers);

 private:
  struct Timed {
    grpc::Status status;
    std::chrono::steady_clock::duration took{};
  };
  template <typename Stub, typename Req, typename Resp>
  Timed invoke(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
               Resp* resp);
  Result<void> timed(const char* op, const Timed& t);

  v1::PodSandboxConfig podConfig(int n) const;
  v1::ContainerConfig containerConfig(int index, const std::vector<std::string>& command) const;
  v1::NamespaceMode pidMode() const;
  Result<void> forceRemoveContainer(const std::string& id);
  Result<void> forceRemovePod(const std::string& id);
  size_t sweepByLabel(int workers);

  SessionConfig cfg_;
  OpRecorder& recorder_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
  std::atomic<int> nextPod_{0};
  std::atomic<bool> recording_{true};
  mutable std::mutex mu_;
  std::map<std::string, std::string> pods_;        // id -> name
  std::map<std::string, std::string> containers_;  // id -> pod id
};

// Runs fn(0) ... fn(n-1) on `workers` threads.
void parallelFor(size_t n, int workers, const std::function<void(size_t)>& fn);

// The path of a unix endpoint ("unix:///run/x.sock" or "/run/x.sock"), or
// empty for other targets.
std::string socketPath(const std::string& endpoint);

}  // namespace crix::bench
