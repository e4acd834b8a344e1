#include "cmd/crixctl/bench_session.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "streaming/client.h"

namespace crix::bench {
namespace {

using Runtime = v1::RuntimeService::Stub;
using Images = v1::ImageService::Stub;

constexpr int kMaxMessageBytes = 16 << 20;  // as the kubelet allows, for long lists
constexpr int kExecTimeoutSeconds = 10;

std::shared_ptr<grpc::Channel> openChannel(const std::string& endpoint) {
  std::string target = endpoint.starts_with("/") ? "unix://" + endpoint : endpoint;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

Result<void> toResult(const std::string& what, const grpc::Status& s) {
  if (s.ok()) return {};
  return fail(static_cast<Code>(s.error_code()), what + ": " + s.error_message());
}

}  // namespace

std::string socketPath(const std::string& endpoint) {
  if (endpoint.starts_with("unix://")) return endpoint.substr(7);
  if (endpoint.starts_with("/")) return endpoint;
  return "";
}

void parallelFor(size_t n, int workers, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  size_t extra = std::min<size_t>(n, static_cast<size_t>(std::max(workers, 1))) - (n > 0 ? 1 : 0);
  for (size_t t = 0; t < extra; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

BenchSession::BenchSession(SessionConfig cfg, OpRecorder& recorder) : cfg_(std::move(cfg)), recorder_(recorder) {
  auto channel = openChannel(cfg_.endpoint);
  runtime_ = v1::RuntimeService::NewStub(channel);
  images_ = v1::ImageService::NewStub(channel);
}

template <typename Stub, typename Req, typename Resp>
BenchSession::Timed BenchSession::invoke(Stub* stub,
                                         grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                                         const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + cfg_.rpcTimeout);
  auto start = std::chrono::steady_clock::now();
  grpc::Status s = (stub->*method)(&ctx, req, resp);
  return {s, std::chrono::steady_clock::now() - start};
}

Result<void> BenchSession::timed(const char* op, const Timed& t) {
  if (recording_) recorder_.record(op, t.took, t.status.ok() ? "" : t.status.error_message());
  return toResult(op, t.status);
}

Result<v1::VersionResponse> BenchSession::version() {
  v1::VersionResponse resp;
  TRY(toResult("Version", invoke(runtime_.get(), &Runtime::Version, v1::VersionRequest{}, &resp).status));
  return resp;
}

Result<std::map<std::string, std::string>> BenchSession::verboseInfo() {
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  TRY(toResult("Status", invoke(runtime_.get(), &Runtime::Status, req, &resp).status));
  return std::map<std::string, std::string>(resp.info().begin(), resp.info().end());
}

Result<bool> BenchSession::imagePresent() {
  v1::ImageStatusRequest req;
  req.mutable_image()->set_image(cfg_.image);
  v1::ImageStatusResponse resp;
  TRY(toResult("ImageStatus", invoke(images_.get(), &Images::ImageStatus, req, &resp).status));
  return resp.has_image();
}

Result<void> BenchSession::ensureImage() {
  if (TRY(imagePresent())) return {};
  v1::PullImageRequest req;
  req.mutable_image()->set_image(cfg_.image);
  v1::PullImageResponse resp;
  return toResult("PullImage " + cfg_.image, invoke(images_.get(), &Images::PullImage, req, &resp).status);
}

Result<void> BenchSession::pullImage() {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(cfg_.image);
  v1::PullImageResponse resp;
  return timed("PullImage", invoke(images_.get(), &Images::PullImage, req, &resp));
}

Result<void> BenchSession::removeImage() {
  v1::RemoveImageRequest req;
  req.mutable_image()->set_image(cfg_.image);
  v1::RemoveImageResponse resp;
  return timed("RemoveImage", invoke(images_.get(), &Images::RemoveImage, req, &resp));
}

Result<void> BenchSession::dropImage() {
  v1::RemoveImageRequest req;
  req.mutable_image()->set_image(cfg_.image);
  v1::RemoveImageResponse resp;
  return toResult("RemoveImage " + cfg_.image, invoke(images_.get(), &Images::RemoveImage, req, &resp).status);
}

v1::PodSandboxConfig BenchSession::podConfig(int n) const {
  std::string name = "bench-" + cfg_.runId + "-" + std::to_string(n);
  v1::PodSandboxConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_namespace_(kNamespace);
  c.mutable_metadata()->set_uid(cfg_.runId + "-" + std::to_string(n));
  c.set_hostname(name);
  c.set_log_directory(cfg_.logDir + "/" + name);
  (*c.mutable_labels())[kRunLabel] = cfg_.runId;
  c.mutable_linux()->set_cgroup_parent("");  // the runtime's default
  // What the kubelet sends for a pod without shareProcessNamespace.
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(pidMode());
  if (cfg_.userns) {
    // A range of its own per pod, as the kubelet hands them out: 65536 ids
    // from the second such range on.
    auto* u = c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->mutable_userns_options();
    u->set_mode(v1::POD);
    for (auto* m : {u->add_uids(), u->add_gids()}) {
      m->set_host_id(static_cast<uint32_t>(65536) * static_cast<uint32_t>(n % 30000 + 2));
      m->set_length(65536);
    }
  }
  return c;
}

v1::NamespaceMode BenchSession::pidMode() const {
  return cfg_.sharedPid ? v1::POD : v1::CONTAINER;
}

v1::ContainerConfig BenchSession::containerConfig(int index, const std::vector<std::string>& command) const {
  std::string name = "sleep-" + std::to_string(index);
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_image()->set_image(cfg_.image);
  if (command.empty()) {
    c.add_command("sleep");
    c.add_args("3600");
  }
  for (const auto& a : command) c.add_command(a);
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(pidMode());
  c.set_log_path(name + ".log");
  (*c.mutable_labels())[kRunLabel] = cfg_.runId;
  return c;
}

Result<Pod> BenchSession::runPod() {
  Pod pod{.config = podConfig(nextPod_++)};
  // The kubelet makes the log directory; so does the bench, for runtimes
  // that expect it.
  std::error_code ec;
  std::filesystem::create_directories(pod.config.log_directory(), ec);
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = pod.config;
  req.set_runtime_handler(cfg_.runtimeHandler);
  v1::RunPodSandboxResponse resp;
  TRY(timed("RunPodSandbox", invoke(runtime_.get(), &Runtime::RunPodSandbox, req, &resp)));
  pod.id = resp.pod_sandbox_id();
  std::lock_guard lock(mu_);
  pods_[pod.id] = pod.config.metadata().name();
  return pod;
}

Result<std::string> BenchSession::runContainer(const Pod& pod, int index, const std::vector<std::string>& command) {
  v1::CreateContainerRequest create;
  create.set_pod_sandbox_id(pod.id);
  *create.mutable_config() = containerConfig(index, command);
  *create.mutable_sandbox_config() = pod.config;
  v1::CreateContainerResponse created;
  TRY(timed("CreateContainer", invoke(runtime_.get(), &Runtime::CreateContainer, create, &created)));
  std::string id = created.container_id();
  {
    std::lock_guard lock(mu_);
    containers_[id] = pod.id;
  }
  v1::StartContainerRequest start;
  start.set_container_id(id);
  v1::StartContainerResponse started;
  TRY(timed("StartContainer", invoke(runtime_.get(), &Runtime::StartContainer, start, &started)));
  return id;
}

Result<void> BenchSession::removeContainer(const std::string& id) {
  v1::StopContainerRequest stop;
  stop.set_container_id(id);
  stop.set_timeout(cfg_.stopTimeout);
  v1::StopContainerResponse stopped;
  TRY(timed("StopContainer", invoke(runtime_.get(), &Runtime::StopContainer, stop, &stopped)));
  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse removed;
  TRY(timed("RemoveContainer", invoke(runtime_.get(), &Runtime::RemoveContainer, rm, &removed)));
  std::lock_guard lock(mu_);
  containers_.erase(id);
  return {};
}

Result<void> BenchSession::removePod(const Pod& pod) {
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod.id);
  v1::StopPodSandboxResponse stopped;
  TRY(timed("StopPodSandbox", invoke(runtime_.get(), &Runtime::StopPodSandbox, stop, &stopped)));
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(pod.id);
  v1::RemovePodSandboxResponse removed;
  TRY(timed("RemovePodSandbox", invoke(runtime_.get(), &Runtime::RemovePodSandbox, rm, &removed)));
  std::lock_guard lock(mu_);
  pods_.erase(pod.id);
  std::erase_if(containers_, [&](const auto& c) { return c.second == pod.id; });  // went with the pod
  return {};
}

Result<void> BenchSession::execTrue(const std::string& containerId) {
  v1::ExecSyncRequest req;
  req.set_container_id(containerId);
  req.add_cmd("true");
  req.set_timeout(kExecTimeoutSeconds);
  v1::ExecSyncResponse resp;
  Timed t = invoke(runtime_.get(), &Runtime::ExecSync, req, &resp);
  if (t.status.ok() && resp.exit_code() != 0)
    t.status = grpc::Status(grpc::StatusCode::UNKNOWN, "true exited " + std::to_string(resp.exit_code()));
  return timed("ExecSync", t);
}

Result<void> BenchSession::execStreamTrue(const std::string& containerId) {
  auto start = std::chrono::steady_clock::now();
  auto status = [&]() -> grpc::Status {
    v1::ExecRequest req;
    req.set_container_id(containerId);
    req.add_cmd("true");
    req.set_stdout(true);
    req.set_stderr(true);
    v1::ExecResponse resp;
    Timed rpc = invoke(runtime_.get(), &Runtime::Exec, req, &resp);
    if (!rpc.status.ok()) return rpc.status;
    streaming::SpdyClient c(resp.url());
    if (!c.ok()) return {grpc::StatusCode::UNAVAILABLE, "upgrade refused: HTTP " + std::to_string(c.upgrade().status)};
    uint32_t error = c.open({{"streamtype", "error"}});
    c.open({{"streamtype", "stdout"}});
    c.open({{"streamtype", "stderr"}});
    // The status ends the error stream, or the server closes the connection.
    if (!c.readUntil([&] { return c.finished.count(error) > 0 || c.goneAway || c.closed; }, cfg_.rpcTimeout))
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "no exit status"};
    // v4: a Status that says Success (empty from runtimes that send nothing on success)
    if (!c.data[error].empty() && c.data[error].find("Success") == std::string::npos)
      return {grpc::StatusCode::UNKNOWN, "exec failed: " + c.data[error]};
    return grpc::Status::OK;
  }();
  return timed("Exec+stream", {status, std::chrono::steady_clock::now() - start});
}

Result<size_t> BenchSession::portForwardGet(const std::string& podId, uint16_t port, const std::string& path) {
  auto start = std::chrono::steady_clock::now();
  size_t got = 0;
  auto status = [&]() -> grpc::Status {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(podId);
    req.add_port(port);
    v1::PortForwardResponse resp;
    Timed rpc = invoke(runtime_.get(), &Runtime::PortForward, req, &resp);
    if (!rpc.status.ok()) return rpc.status;
    streaming::SpdyClient c(resp.url(), "portforward.k8s.io");
    if (!c.ok()) return {grpc::StatusCode::UNAVAILABLE, "upgrade refused: HTTP " + std::to_string(c.upgrade().status)};
    std::string p = std::to_string(port);
    uint32_t error = c.open({{"streamtype", "error"}, {"port", p}, {"requestid", "0"}});
    uint32_t data = c.open({{"streamtype", "data"}, {"port", p}, {"requestid", "0"}});
    c.send(data, "GET " + path + " HTTP/1.0\r\n\r\n");
    if (!c.readUntil([&] { return c.finished.count(data) > 0 || c.closed; }, cfg_.rpcTimeout))
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "the transfer did not end"};
    got = c.data[data].size();
    if (c.data[data].rfind("HTTP/1.", 0) != 0)
      return {grpc::StatusCode::UNAVAILABLE, "no HTTP answer: " + c.data[error]};
    return grpc::Status::OK;
  }();
  TRY(timed("PortForward GET", {status, std::chrono::steady_clock::now() - start}));
  return got;
}

Result<size_t> BenchSession::listContainers() {
  v1::ListContainersResponse resp;
  TRY(timed("ListContainers", invoke(runtime_.get(), &Runtime::ListContainers, v1::ListContainersRequest{}, &resp)));
  return static_cast<size_t>(resp.containers_size());
}

Result<size_t> BenchSession::streamContainers() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + cfg_.rpcTimeout);
  auto start = std::chrono::steady_clock::now();
  auto reader = runtime_->StreamContainers(&ctx, v1::StreamContainersRequest{});
  size_t n = 0;
  v1::StreamContainersResponse chunk;
  while (reader->Read(&chunk)) n += static_cast<size_t>(chunk.containers_size());
  grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) return listContainers();
  TRY(timed("StreamContainers", {status, std::chrono::steady_clock::now() - start}));
  return n;
}

Result<size_t> BenchSession::listPods() {
  v1::ListPodSandboxResponse resp;
  TRY(timed("ListPodSandbox", invoke(runtime_.get(), &Runtime::ListPodSandbox, v1::ListPodSandboxRequest{}, &resp)));
  return static_cast<size_t>(resp.items_size());
}

std::pair<size_t, size_t> BenchSession::alive() const {
  std::lock_guard lock(mu_);
  return {pods_.size(), containers_.size()};
}

Result<void> BenchSession::forceRemoveContainer(const std::string& id) {
  v1::StopContainerRequest stop;
  stop.set_container_id(id);
  v1::StopContainerResponse stopped;
  (void)invoke(runtime_.get(), &Runtime::StopContainer, stop, &stopped);  // Remove says why, if it matters
  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse removed;
  TRY(toResult("RemoveContainer " + id, invoke(runtime_.get(), &Runtime::RemoveContainer, rm, &removed).status));
  std::lock_guard lock(mu_);
  containers_.erase(id);
  return {};
}

Result<void> BenchSession::forceRemovePod(const std::string& id) {
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(id);
  v1::StopPodSandboxResponse stopped;
  (void)invoke(runtime_.get(), &Runtime::StopPodSandbox, stop, &stopped);
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(id);
  v1::RemovePodSandboxResponse removed;
  TRY(toResult("RemovePodSandbox " + id, invoke(runtime_.get(), &Runtime::RemovePodSandbox, rm, &removed).status));
  std::lock_guard lock(mu_);
  pods_.erase(id);
  std::erase_if(containers_, [&](const auto& c) { return c.second == id; });
  return {};
}

size_t BenchSession::cleanup(int workers) {
  std::vector<std::string> containers, pods;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, pod] : containers_) containers.push_back(id);
    for (const auto& [id, name] : pods_) pods.push_back(id);
  }
  parallelFor(containers.size(), workers, [&](size_t i) { (void)forceRemoveContainer(containers[i]); });
  parallelFor(pods.size(), workers, [&](size_t i) { (void)forceRemovePod(pods[i]); });
  return sweepByLabel(workers);
}

// Catches what the ids miss: a pod whose RunPodSandbox the runtime finished
// after the bench gave up waiting.
size_t BenchSession::sweepByLabel(int workers) {
  auto list = [&](v1::ListPodSandboxResponse* pods, v1::ListContainersResponse* containers) {
    v1::ListPodSandboxRequest podReq;
    (*podReq.mutable_filter()->mutable_label_selector())[kRunLabel] = cfg_.runId;
    v1::ListContainersRequest ctrReq;
    (*ctrReq.mutable_filter()->mutable_label_selector())[kRunLabel] = cfg_.runId;
    bool ok = invoke(runtime_.get(), &Runtime::ListPodSandbox, podReq, pods).status.ok() &&
              invoke(runtime_.get(), &Runtime::ListContainers, ctrReq, containers).status.ok();
    return ok;
  };
  v1::ListPodSandboxResponse pods;
  v1::ListContainersResponse containers;
  if (!list(&pods, &containers)) return 1;  // cannot tell: count it as left behind
  parallelFor(containers.containers_size(), workers,
              [&](size_t i) { (void)forceRemoveContainer(containers.containers(static_cast<int>(i)).id()); });
  parallelFor(pods.items_size(), workers,
              [&](size_t i) { (void)forceRemovePod(pods.items(static_cast<int>(i)).id()); });
  v1::ListPodSandboxResponse podsLeft;
  v1::ListContainersResponse containersLeft;
  if (!list(&podsLeft, &containersLeft)) return 1;
  return static_cast<size_t>(podsLeft.items_size() + containersLeft.containers_size());
}

}  // namespace crix::bench
