// Exec, attach and port-forward through crixd's streaming server, with a
// client that speaks SPDY/3.1 and WebSocket as the kubelet's clients do.
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "integration/pod_fixture.h"
#include "streaming/client.h"
#include "sys/fs.h"

namespace crix::test {
namespace {

using streaming::dial;
using streaming::SpdyClient;
using streaming::WsClient;

using namespace std::chrono_literals;

class StreamingTest : public PodFixture {
 protected:
  // A running container; `cmd` defaults to a long sleep.
  std::string running(const std::string& name, std::vector<std::string> cmd = {"sleep", "3600"}, bool stdin = false) {
    auto c = config(name, std::move(cmd));
    c.set_stdin(stdin);
    std::string id;
    auto s = create(c, &id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(start(id).ok());
    return id;
  }

  std::string execUrl(const std::string& id, std::vector<std::string> cmd, bool in, bool out, bool err, bool tty) {
    v1::ExecRequest req;
    req.set_container_id(id);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_stdin(in);
    req.set_stdout(out);
    req.set_stderr(err);
    req.set_tty(tty);
    v1::ExecResponse resp;
    auto s = d_->runtime()->Exec(rpcContext().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.url();
  }

  std::string portForwardUrl() {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(pod_);
    v1::PortForwardResponse resp;
    auto s = d_->runtime()->PortForward(rpcContext().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.url();
  }

  // Waits until `cmd` prints `want` (ExecSync), for servers that start
  // in the background.
  bool eventually(const std::string& id, std::vector<std::string> cmd, const std::string& want) {
    for (int i = 0; i < 100; ++i) {
      v1::ExecSyncRequest req;
      req.set_container_id(id);
      for (auto& a : cmd) req.add_cmd(a);
      req.set_timeout(5);
      v1::ExecSyncResponse resp;
      if (d_->runtime()->ExecSync(rpcContext(10000).get(), req, &resp).ok() &&
          resp.stdout().find(want) != std::string::npos)
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
};

TEST_F(StreamingTest, ExecOverSpdyCarriesStdioAndTheExitCode) {
  std::string id = running("exec");
  std::string url =
      execUrl(id, {"sh", "-c", "read line; echo got:$line; echo oops >&2; exit 3"}, true, true, true, false);
  SpdyClient c(url);
  ASSERT_TRUE(c.ok()) << c.upgrade().status << " " << c.upgrade().body;
  EXPECT_EQ(c.upgrade().headers.at("x-stream-protocol-version"), "v4.channel.k8s.io");
  uint32_t error = c.open({{"streamtype", "error"}});
  uint32_t in = c.open({{"streamtype", "stdin"}});
  uint32_t out = c.open({{"streamtype", "stdout"}});
  uint32_t err = c.open({{"streamtype", "stderr"}});
  c.send(in, "hello\n", true);
  ASSERT_TRUE(c.readUntil([&] { return c.finished.count(error) && c.finished.count(out) && c.finished.count(err); }))
      << d_->log();
  EXPECT_EQ(c.replied.size(), 4u);
  EXPECT_EQ(c.data[out], "got:hello\n");
  EXPECT_EQ(c.data[err], "oops\n");
  auto status = nlohmann::json::parse(c.data[error]);
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "NonZeroExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["message"], "3");

  // The token was good for one connection.
  SpdyClient again(url);
  EXPECT_EQ(again.upgrade().status, 404);
}

TEST_F(StreamingTest, ExecWithATerminalFollowsResizes) {
  std::string id = running("tty");
  std::string url = execUrl(id, {"sh", "-c", "stty size; read x; stty size"}, true, true, false, true);
  SpdyClient c(url);
  ASSERT_TRUE(c.ok());
  uint32_t error = c.open({{"streamtype", "error"}});
  uint32_t in = c.open({{"streamtype", "stdin"}});
  uint32_t out = c.open({{"streamtype", "stdout"}});
  uint32_t resize = c.open({{"streamtype", "resize"}});
  c.send(resize, "{\"Width\":100,\"Height\":40}\n");
  ASSERT_TRUE(c.readUntil([&] { return c.data[out].find("40 100") != std::string::npos; }))
      << c.data[out] << c.data[error] << d_->log();
  c.send(resize, "{\"Width\":132,\"Height\":50}\n");
  std::this_thread::sleep_for(200ms);
  c.send(in, "go\r");
  ASSERT_TRUE(c.readUntil([&] { return c.finished.count(error) > 0; })) << c.data[out];
  EXPECT_NE(c.data[out].find("50 132"), std::string::npos) << c.data[out];
  EXPECT_EQ(nlohmann::json::parse(c.data[error])["status"], "Success");
}

TEST_F(StreamingTest, ExecOverWebSocketV5EndsStdinWithTheCloseSignal) {
  std::string id = running("ws");
  std::string url = execUrl(id, {"sh", "-c", "cat; echo done"}, true, true, true, false);
  WsClient c(url, "v5.channel.k8s.io");
  ASSERT_TRUE(c.ok()) << c.upgrade().status << " " << c.upgrade().body;
  EXPECT_EQ(c.upgrade().headers.at("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(c.upgrade().headers.at("sec-websocket-protocol"), "v5.channel.k8s.io");
  c.send(0, "echo me\n");
  ASSERT_TRUE(c.readUntil([&] { return c.data[1] == "echo me\n"; })) << c.data[1];
  c.sendRaw(std::string("\xff\x00", 2));  // v5: close channel 0
  ASSERT_TRUE(c.readUntil([&] { return c.closed; })) << d_->log();
  EXPECT_EQ(c.data[1], "echo me\ndone\n");
  EXPECT_EQ(nlohmann::json::parse(c.data[3])["status"], "Success");
}

TEST_F(StreamingTest, ExecOverWebSocketBase64) {
  std::string id = running("b64");
  std::string url = execUrl(id, {"sh", "-c", "echo hi; exit 2"}, false, true, true, false);
  WsClient c(url, "v4.base64.channel.k8s.io");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.readUntil([&] { return c.closed; }));
  // Text messages: the channel as a digit, then base64.
  ASSERT_FALSE(c.messages.empty());
  EXPECT_EQ(c.messages[0], "1aGkK");
  auto status = nlohmann::json::parse(*base64Decode(c.data['3']));
  EXPECT_EQ(status["details"]["causes"][0]["message"], "2");
}

TEST_F(StreamingTest, AClientThatGoesAwayTakesItsExecWithIt) {
  std::string id = running("gone");
  std::string url = execUrl(id, {"sh", "-c", "echo started; exec sleep 1234"}, false, true, true, false);
  {
    SpdyClient c(url);
    ASSERT_TRUE(c.ok());
    c.open({{"streamtype", "error"}});
    uint32_t out = c.open({{"streamtype", "stdout"}});
    c.open({{"streamtype", "stderr"}});
    ASSERT_TRUE(c.readUntil([&] { return c.data[out] == "started\n"; }));
  }  // the connection closes here
  EXPECT_TRUE(eventually(id, {"sh", "-c", "ps | grep -c 'sleep 123[4]' || true"}, "0")) << d_->log();
}

TEST_F(StreamingTest, AttachReachesTheMainProcess) {
  std::string id = running("attach", {"sh"}, true);
  v1::AttachRequest req;
  req.set_container_id(id);
  req.set_stdin(true);
  req.set_stdout(true);
  req.set_stderr(true);
  v1::AttachResponse resp;
  ASSERT_TRUE(d_->runtime()->Attach(rpcContext().get(), req, &resp).ok());
  SpdyClient c(resp.url());
  ASSERT_TRUE(c.ok());
  c.open({{"streamtype", "error"}});
  uint32_t in = c.open({{"streamtype", "stdin"}});
  uint32_t out = c.open({{"streamtype", "stdout"}});
  uint32_t err = c.open({{"streamtype", "stderr"}});
  ASSERT_TRUE(c.readUntil([&] { return c.replied.size() == 4; }));
  c.send(in, "echo hi from $0; echo to-stderr >&2\n");
  ASSERT_TRUE(c.readUntil([&] { return c.data[out] == "hi from sh\n" && c.data[err] == "to-stderr\n"; }))
      << c.data[out] << c.data[err];
  // What went to the client went to the log as well.
  std::string log = *sys::readFile(tmp_ / "logs/attach.log");
  EXPECT_NE(log.find(" stdout F hi from sh"), std::string::npos) << log;
}

TEST_F(StreamingTest, PortForwardReachesAServerInsideThePod) {
  std::string id = running("web", {"sh", "-c",
                                   "mkdir -p /tmp/www && echo page-from-pod > /tmp/www/index.html && "
                                   "exec httpd -f -p 8080 -h /tmp/www"});
  ASSERT_TRUE(eventually(id, {"wget", "-q", "-O-", "http://127.0.0.1:8080/index.html"}, "page-from-pod"));
  SpdyClient c(portForwardUrl(), "portforward.k8s.io");
  ASSERT_TRUE(c.ok()) << c.upgrade().status;
  EXPECT_EQ(c.upgrade().headers.at("x-stream-protocol-version"), "portforward.k8s.io");
  // Two connections on one port, at once.
  std::vector<uint32_t> data;
  for (int request = 0; request < 2; ++request) {
    std::string rid = std::to_string(request);
    c.open({{"streamtype", "error"}, {"port", "8080"}, {"requestid", rid}});
    data.push_back(c.open({{"streamtype", "data"}, {"port", "8080"}, {"requestid", rid}}));
  }
  for (uint32_t d : data) c.send(d, "GET /index.html HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(c.readUntil([&] { return c.finished.count(data[0]) && c.finished.count(data[1]); })) << d_->log();
  for (uint32_t d : data) EXPECT_NE(c.data[d].find("page-from-pod"), std::string::npos) << c.data[d];

  // A port nobody listens on: the error stream says so.
  uint32_t error = c.open({{"streamtype", "error"}, {"port", "8081"}, {"requestid", "9"}});
  uint32_t dead = c.open({{"streamtype", "data"}, {"port", "8081"}, {"requestid", "9"}});
  ASSERT_TRUE(c.readUntil([&] { return c.finished.count(error) && c.finished.count(dead); }));
  EXPECT_NE(c.data[error].find("8081"), std::string::npos) << c.data[error];
}

TEST_F(StreamingTest, PortForwardOverWebSocket) {
  std::string id = running("web", {"sh", "-c",
                                   "mkdir -p /tmp/www && echo ws-page > /tmp/www/index.html && "
                                   "exec httpd -f -p 8080 -h /tmp/www"});
  ASSERT_TRUE(eventually(id, {"wget", "-q", "-O-", "http://127.0.0.1:8080/index.html"}, "ws-page"));
  WsClient c(portForwardUrl() + "?port=8080", "v4.channel.k8s.io");
  ASSERT_TRUE(c.ok()) << c.upgrade().status;
  // The first message on the data and error channels names the port.
  ASSERT_TRUE(c.readUntil([&] { return c.messages.size() >= 2; }));
  EXPECT_EQ(c.messages[0], std::string("\x00\x90\x1f", 3));
  EXPECT_EQ(c.messages[1], std::string("\x01\x90\x1f", 3));
  c.send(0, "GET /index.html HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(c.readUntil([&] { return c.data[0].find("ws-page") != std::string::npos; })) << c.data[0];
}

TEST_F(StreamingTest, RequestsAreCheckedBeforeAURLIsGiven) {
  std::string id = running("checks");
  v1::ExecRequest req;
  req.set_container_id(id);
  req.add_cmd("true");
  v1::ExecResponse resp;
  auto s = d_->runtime()->Exec(rpcContext().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "no streams";
  req.set_stdout(true);
  req.set_container_id("no-such-container");
  EXPECT_EQ(d_->runtime()->Exec(rpcContext().get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::StopContainerRequest stop;
  stop.set_container_id(id);
  v1::StopContainerResponse stopped;
  ASSERT_TRUE(d_->runtime()->StopContainer(rpcContext(20000).get(), stop, &stopped).ok());
  req.set_container_id(id);
  EXPECT_EQ(d_->runtime()->Exec(rpcContext().get(), req, &resp).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::PortForwardRequest pf;
  pf.set_pod_sandbox_id(pod_);
  pf.add_port(70000);
  v1::PortForwardResponse pfResp;
  EXPECT_EQ(d_->runtime()->PortForward(rpcContext().get(), pf, &pfResp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Made-up tokens and plain HTTP get nowhere.
  std::string base = portForwardUrl();
  std::string host = base.substr(0, base.find("/portforward/"));
  EXPECT_EQ(dial(host + "/exec/not-a-token", {"Connection: Upgrade", "Upgrade: SPDY/3.1"}).status, 404);
  EXPECT_EQ(dial(base, {}).status, 400);
}

// conmon, runc's state and the pod's netns outlive crixd: a restarted
// crixd (killed, not stopped) still execs, attaches and forwards ports.
TEST_F(StreamingTest, ExecAttachAndPortForwardOutliveACrixdCrash) {
  std::string web = running("web", {"sh", "-c",
                                    "mkdir -p /tmp/www && echo page-from-pod > /tmp/www/index.html && "
                                    "exec httpd -f -p 8080 -h /tmp/www"});
  std::string shell = running("attach", {"sh"}, true);
  ASSERT_TRUE(eventually(web, {"wget", "-q", "-O-", "http://127.0.0.1:8080/index.html"}, "page-from-pod"));

  EXPECT_EQ(d_->stop(SIGKILL), -SIGKILL);
  ASSERT_TRUE(d_->start());

  // Exec, streamed.
  SpdyClient exec(execUrl(web, {"sh", "-c", "echo exec-after-restart"}, false, true, false, false));
  ASSERT_TRUE(exec.ok()) << exec.upgrade().status;
  uint32_t error = exec.open({{"streamtype", "error"}});
  uint32_t out = exec.open({{"streamtype", "stdout"}});
  ASSERT_TRUE(exec.readUntil([&] { return exec.finished.count(error) && exec.finished.count(out); })) << d_->log();
  EXPECT_EQ(exec.data[out], "exec-after-restart\n");

  // Attach to the shell started before the crash.
  v1::AttachRequest req;
  req.set_container_id(shell);
  req.set_stdin(true);
  req.set_stdout(true);
  v1::AttachResponse resp;
  ASSERT_TRUE(d_->runtime()->Attach(rpcContext().get(), req, &resp).ok());
  SpdyClient attach(resp.url());
  ASSERT_TRUE(attach.ok());
  attach.open({{"streamtype", "error"}});
  uint32_t in = attach.open({{"streamtype", "stdin"}});
  uint32_t aout = attach.open({{"streamtype", "stdout"}});
  ASSERT_TRUE(attach.readUntil([&] { return attach.replied.size() == 3; }));
  attach.send(in, "echo attached-after-restart\n");
  ASSERT_TRUE(attach.readUntil([&] { return attach.data[aout] == "attached-after-restart\n"; })) << attach.data[aout];

  // Port-forward into the pod's netns.
  SpdyClient pf(portForwardUrl(), "portforward.k8s.io");
  ASSERT_TRUE(pf.ok()) << pf.upgrade().status;
  pf.open({{"streamtype", "error"}, {"port", "8080"}, {"requestid", "0"}});
  uint32_t data = pf.open({{"streamtype", "data"}, {"port", "8080"}, {"requestid", "0"}});
  pf.send(data, "GET /index.html HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(pf.readUntil([&] { return pf.finished.count(data); })) << d_->log();
  EXPECT_NE(pf.data[data].find("page-from-pod"), std::string::npos) << pf.data[data];
}

}  // namespace
}  // namespace crix::test
