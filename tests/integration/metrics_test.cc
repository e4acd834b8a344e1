// The metrics endpoint against the real crixd: scrape /metrics over plain
// HTTP after real CRI calls, a real pod (CNI, conmon, runc, a pulled pause
// image) and check that the counters moved; and the per-pod start-up
// breakdown in verbose PodSandboxStatus.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cmath>
#include <ctime>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "integration/daemon_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/process.h"
#include "sys/unique_fd.h"

namespace crix::test {
namespace {

namespace v1 = ::runtime::v1;

// One HTTP/1.1 request on a fresh connection; the whole response.
std::string httpGet(int port, const std::string& path, const std::string& method = "GET") {
  sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return "";
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n";
  if (::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return "";
  std::string out;
  char buf[8192];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// The body of a 200 response to GET /metrics, or "" (and a failure).
std::string scrape(int port) {
  std::string r = httpGet(port, "/metrics");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r.substr(0, 200);
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  size_t body = r.find("\r\n\r\n");
  return body == std::string::npos ? "" : r.substr(body + 4);
}

// The value of one series ("name" or "name{a=\"b\"}"), or NaN if absent.
double value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nan("");
}

class MetricsTest : public DaemonTest {
 protected:
  void TearDown() override {
    d_.reset();
    (void)sys::runCommand({"/sbin/ip", "link", "del", "crixtest0"});
  }
  std::string metricsToml() const { return "[metrics]\naddress = \"127.0.0.1:" + std::to_string(port_) + "\"\n"; }
  v1::PodSandboxConfig podConfig(const std::string& name) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("default");
    c.mutable_metadata()->set_uid("uid-" + name);
    c.set_hostname(name);
    c.set_log_directory(tmp_ / ("logs/" + name));
    // A shared PID namespace: the pod gets an infra container, so every
    // step of RunPodSandbox runs.
    c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
    return c;
  }
  grpc::Status version() {
    v1::VersionRequest req;
    v1::VersionResponse resp;
    return d_->runtime()->Version(rpcContext().get(), req, &resp);
  }

  int port_ = freePort();
  std::unique_ptr<Daemon> d_;
};

TEST_F(MetricsTest, ScrapeShowsCallsPodsImagesAndTheProcess) {
  auto& reg = TestRegistry::get();
  ASSERT_TRUE(reg.ok()) << reg.error();
  d_ = startDaemon(metricsToml() + "[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml());
  EXPECT_NE(d_->log().find("msg=\"serving metrics\" address=127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << d_->log();

  std::string before = scrape(port_);
  double versionsBefore = value(before, R"(crix_grpc_requests_total{method="Version",code="OK"})");
  ASSERT_GE(versionsBefore, 1) << before;  // the fixture's readiness probe
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(version().ok());
  EXPECT_EQ(value(before, R"(crix_pods{state="ready"})"), 0);

  // A pod, start to finish, and a call that fails.
  v1::RunPodSandboxRequest run;
  *run.mutable_config() = podConfig("metrics");
  v1::RunPodSandboxResponse ran;
  auto s = d_->runtime()->RunPodSandbox(rpcContext(30000).get(), run, &ran);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();
  std::string id = ran.pod_sandbox_id();
  std::string running = scrape(port_);
  EXPECT_EQ(value(running, R"(crix_pods{state="ready"})"), 1) << running;
  EXPECT_EQ(value(running, R"(crix_pods{state="notready"})"), 0);
  EXPECT_EQ(value(running, R"(crix_containers{state="running"})"), 0);

  v1::PodSandboxStatusRequest statusReq;
  statusReq.set_pod_sandbox_id("0123456789abcdef-no-such-pod");
  v1::PodSandboxStatusResponse statusResp;
  EXPECT_EQ(d_->runtime()->PodSandboxStatus(rpcContext().get(), statusReq, &statusResp).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(id);
  v1::StopPodSandboxResponse stopped;
  ASSERT_TRUE(d_->runtime()->StopPodSandbox(rpcContext(30000).get(), stop, &stopped).ok());
  EXPECT_EQ(value(scrape(port_), R"(crix_pods{state="notready"})"), 1);
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(id);
  v1::RemovePodSandboxResponse removed;
  ASSERT_TRUE(d_->runtime()->RemovePodSandbox(rpcContext(30000).get(), rm, &removed).ok());

  std::string after = scrape(port_);
  // Every family announces itself once, HELP before TYPE.
  std::set<std::string> families;
  std::istringstream lines(after);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    std::string name = line.substr(7, line.find(' ', 7) - 7);
    EXPECT_TRUE(families.insert(name).second) << "twice: " << name;
    EXPECT_NE(after.find("# HELP " + name + " "), std::string::npos) << name;
  }
  for (const char* name :
       {"crix_grpc_requests_total", "crix_grpc_request_duration_seconds", "crix_pods", "crix_containers",
        "crix_image_pulls_total", "crix_image_pull_bytes_total", "crix_image_pull_duration_seconds",
        "crix_cni_operation_duration_seconds", "crix_oci_runtime_duration_seconds",
        "crix_pod_startup_step_duration_seconds", "crix_pod_startup_duration_seconds", "process_resident_memory_bytes",
        "process_open_fds", "process_start_time_seconds"})
    EXPECT_TRUE(families.count(name)) << name << "\n" << after;
  EXPECT_NE(after.find("# TYPE crix_grpc_requests_total counter\n"), std::string::npos);
  EXPECT_NE(after.find("# TYPE crix_pods gauge\n"), std::string::npos);
  EXPECT_NE(after.find("# TYPE crix_oci_runtime_duration_seconds histogram\n"), std::string::npos);

  // The calls.
  EXPECT_EQ(value(after, R"(crix_grpc_requests_total{method="Version",code="OK"})"), versionsBefore + 3) << after;
  EXPECT_EQ(value(after, R"(crix_grpc_requests_total{method="RunPodSandbox",code="OK"})"), 1);
  EXPECT_EQ(value(after, R"(crix_grpc_requests_total{method="StopPodSandbox",code="OK"})"), 1);
  EXPECT_EQ(value(after, R"(crix_grpc_requests_total{method="RemovePodSandbox",code="OK"})"), 1);
  EXPECT_EQ(value(after, R"(crix_grpc_requests_total{method="PodSandboxStatus",code="NotFound"})"), 1);
  EXPECT_EQ(value(after, R"(crix_grpc_request_duration_seconds_count{method="RunPodSandbox"})"), 1);
  EXPECT_GT(value(after, R"(crix_grpc_request_duration_seconds_sum{method="RunPodSandbox"})"), 0);
  EXPECT_EQ(value(after, R"(crix_grpc_request_duration_seconds_bucket{method="RunPodSandbox",le="+Inf"})"), 1);

  // What the pod did underneath.
  EXPECT_EQ(value(after, R"(crix_image_pulls_total{result="success"})"), 1);  // the pause image
  EXPECT_EQ(value(after, R"(crix_image_pulls_total{result="failure"})"), 0);
  EXPECT_GT(value(after, "crix_image_pull_bytes_total"), 1000);
  EXPECT_EQ(value(after, "crix_image_pull_duration_seconds_count"), 1);
  EXPECT_EQ(value(after, R"(crix_cni_operation_duration_seconds_count{op="add"})"), 1);
  EXPECT_GE(value(after, R"(crix_cni_operation_duration_seconds_count{op="del"})"), 1);
  EXPECT_EQ(value(after, R"(crix_oci_runtime_duration_seconds_count{op="create"})"), 1);
  EXPECT_EQ(value(after, R"(crix_oci_runtime_duration_seconds_count{op="start"})"), 1);
  EXPECT_GE(value(after, R"(crix_oci_runtime_duration_seconds_count{op="delete"})"), 1);
  for (const char* step : {"validate", "reserve_name", "pod_dir", "netns", "cni_add", "ipc_uts", "pod_files", "shm",
                           "pause_image", "rootfs", "spec", "runtime_create", "runtime_start", "persist"})
    EXPECT_EQ(value(after, std::string(R"(crix_pod_startup_step_duration_seconds_count{step=")") + step + "\"}"), 1)
        << step;
  EXPECT_EQ(value(after, "crix_pod_startup_duration_seconds_count"), 1);
  EXPECT_EQ(value(after, R"(crix_pods{state="ready"})"), 0);
  EXPECT_EQ(value(after, R"(crix_pods{state="notready"})"), 0);

  // The process.
  EXPECT_GT(value(after, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(value(after, "process_open_fds"), 3);
  double startedAt = value(after, "process_start_time_seconds");
  double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(startedAt, now - 120);
  EXPECT_LE(startedAt, now + 1);

  // Nothing else is served.
  EXPECT_TRUE(httpGet(port_, "/").starts_with("HTTP/1.1 404 "));
  EXPECT_TRUE(httpGet(port_, "/metrics", "POST").starts_with("HTTP/1.1 405 "));
}

TEST_F(MetricsTest, VerbosePodStatusHasTheStartupBreakdown) {
  auto& reg = TestRegistry::get();
  ASSERT_TRUE(reg.ok()) << reg.error();
  d_ = startDaemon("[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml());
  v1::RunPodSandboxRequest run;
  *run.mutable_config() = podConfig("breakdown");
  v1::RunPodSandboxResponse ran;
  auto s = d_->runtime()->RunPodSandbox(rpcContext(30000).get(), run, &ran);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();

  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(ran.pod_sandbox_id());
  req.set_verbose(true);
  v1::PodSandboxStatusResponse resp;
  ASSERT_TRUE(d_->runtime()->PodSandboxStatus(rpcContext().get(), req, &resp).ok());
  auto info = nlohmann::ordered_json::parse(resp.info().at("info"));
  ASSERT_TRUE(info.contains("startupBreakdown")) << info.dump(2);
  EXPECT_EQ(info["id"], ran.pod_sandbox_id());  // the existing verbose info stays
  const auto& b = info["startupBreakdown"];
  std::vector<std::string> steps;
  double sum = 0;
  for (const auto& [step, ms] : b.items()) {
    ASSERT_TRUE(ms.is_number()) << step;
    EXPECT_GE(ms.get<double>(), 0) << step;
    if (step != "total") sum += ms.get<double>();
    steps.push_back(step);
  }
  // In the order the steps ran, then the total, which is their sum
  // (sysctls: the default unprivileged ports and ping range).
  EXPECT_EQ(steps, (std::vector<std::string>{"validate", "reserve_name", "pod_dir", "netns", "cni_add", "sysctls",
                                             "ipc_uts", "pod_files", "shm", "pause_image", "rootfs", "spec",
                                             "runtime_create", "runtime_start", "persist", "total"}))
      << b.dump();
  EXPECT_NEAR(b["total"].get<double>(), sum, 0.01 * static_cast<double>(steps.size()));
  EXPECT_GT(b["runtime_create"].get<double>(), 0);

  // Not verbose: no info at all.
  req.set_verbose(false);
  v1::PodSandboxStatusResponse plain;
  ASSERT_TRUE(d_->runtime()->PodSandboxStatus(rpcContext().get(), req, &plain).ok());
  EXPECT_TRUE(plain.info().empty());
}

TEST_F(MetricsTest, TheFlagTurnsTheEndpointOn) {
  d_ = startDaemon("", {"--metrics-address", "127.0.0.1:" + std::to_string(port_)});
  std::string text = scrape(port_);
  EXPECT_NE(text.find("# TYPE crix_grpc_requests_total counter\n"), std::string::npos) << text;
  EXPECT_GE(value(text, R"(crix_grpc_requests_total{method="Version",code="OK"})"), 1) << text;
}

TEST_F(MetricsTest, OffByDefault) {
  d_ = startDaemon();
  EXPECT_EQ(d_->log().find("serving metrics"), std::string::npos) << d_->log();
  EXPECT_EQ(httpGet(port_, "/metrics"), "");
}

TEST_F(MetricsTest, ABadOrTakenAddressStopsStartup) {
  Daemon bad(tmp_ / "d", config("[metrics]\naddress = \"127.0.0.1:http\"\n"));
  EXPECT_EQ(bad.runToExit(), 2);
  EXPECT_NE(bad.log().find("metrics.address: bad address"), std::string::npos) << bad.log();

  // Something else holds the port.
  sys::UniqueFd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port_));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(holder.get(), 1), 0);
  Daemon taken(tmp_ / "d", config(metricsToml()));
  EXPECT_EQ(taken.runToExit(), 1);
  EXPECT_NE(taken.log().find("listen for metrics on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << taken.log();
}

}  // namespace
}  // namespace crix::test
