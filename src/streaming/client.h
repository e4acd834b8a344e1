// A streaming client, for crixctl and the tests: dials a URL that Exec,
// Attach or PortForward returned (of crix or any other runtime), upgrades
// to SPDY/3.1 or WebSocket, and speaks the Kubernetes channel protocols as
// the kubelet's clients do. Synchronous and single-threaded: the caller
// sends, then reads until what it waits for has arrived.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "streaming/spdy.h"
#include "sys/unique_fd.h"

namespace crix::streaming {

struct Upgraded {
  int status = 0;                              // the HTTP status
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;                            // when not upgraded
  sys::UniqueFd fd;
  std::string leftover;  // bytes after the response
};

// Sends `method url` with the extra header lines and reads the response.
Upgraded dial(const std::string& url, const std::vector<std::string>& headerLines, const std::string& method = "POST");

class SpdyClient {
 public:
  // Upgrades to SPDY/3.1 offering `protocol` (X-Stream-Protocol-Version).
  explicit SpdyClient(const std::string& url, const std::string& protocol = "v4.channel.k8s.io");
  bool ok() const { return up_.status == 101; }
  const Upgraded& upgrade() const { return up_; }

  uint32_t open(const spdy::Headers& headers);
  void send(uint32_t stream, std::string_view data, bool fin = false);
  // Reads frames until `done` holds or the timeout passes; false on timeout
  // or when the connection ends first.
  bool readUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void close() { up_.fd.reset(); }

  std::map<uint32_t, std::string> data;  // received per stream
  std::set<uint32_t> finished;           // streams the server ended
  std::set<uint32_t> replied, reset;
  bool goneAway = false;
  bool closed = false;  // the server closed the connection

 private:
  Upgraded up_;
  spdy::Codec codec_;
  uint32_t next_ = 1;
};

class WsClient {
 public:
  WsClient(const std::string& url, const std::string& protocol);
  bool ok() const { return up_.status == 101; }
  const Upgraded& upgrade() const { return up_; }

  // A message on a channel (binary protocols: the channel byte, then data).
  void send(uint8_t channel, std::string_view data);
  void sendRaw(std::string_view message);
  bool readUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  std::map<uint8_t, std::string> data;  // received per channel, first byte stripped
  std::vector<std::string> messages;    // every message, whole
  bool closed = false;

 private:
  Upgraded up_;
};

}  // namespace crix::streaming
