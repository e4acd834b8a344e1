// Exec, attach and port-forward over WebSocket, with the Kubernetes channel
// subprotocols: each message starts with its channel (stdin 0, stdout 1,
// stderr 2, error 3, resize 4), as a byte in the binary protocols and as an
// ASCII digit before base64 text in the base64 ones. v5 adds a close
// message, [255, channel], by which a client ends its stdin.
//
// Port-forward: the ports come from the URL (?port=80&port=8080) or else
// the request; port i uses data channel 2i and error channel 2i+1, and the
// first message on each is the port number, two bytes little-endian. One
// connection per port.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "streaming/backend.h"
#include "streaming/session_flow.h"
#include "sys/unique_fd.h"

namespace crix::streaming {

extern const std::vector<std::string> kWsChannelProtocols;
extern const std::vector<std::string> kWsPortForwardProtocols;

struct WsOptions {
  std::chrono::milliseconds idleTimeout{std::chrono::hours(4)};
  std::string protocol;  // negotiated; empty: the client named none
};

Outcome serveWsSession(sys::UniqueFd fd, std::string leftover, const WsOptions& opts, bool tty,
                       const SessionStarter& start);

void serveWsPortForward(sys::UniqueFd fd, std::string leftover, const WsOptions& opts, Backend& backend,
                        const PortForwardRequest& req, const std::string& target);

// The ports named in a URL's query (port=N, repeated), in order.
std::vector<int32_t> portsFromQuery(const std::string& target);

}  // namespace crix::streaming
