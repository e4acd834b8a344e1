// Exec, attach and port-forward over an upgraded SPDY/3.1 connection.
//
// Exec and attach: the client opens one stream per channel, named by the
// header `streamtype` (error, stdin, stdout, stderr, resize); the session
// starts once every stream the request implies is open.
//
// Port-forward: for each connection, the client opens an `error` and a
// `data` stream carrying the headers `port` and `requestid`; each data
// stream becomes one TCP connection to that port inside the pod.
#pragma once

#include <chrono>
#include <string>

#include "streaming/backend.h"
#include "streaming/session_flow.h"
#include "sys/unique_fd.h"

namespace crix::streaming {

struct SpdyOptions {
  std::chrono::milliseconds idleTimeout{std::chrono::hours(4)};
  std::chrono::milliseconds streamCreationTimeout{std::chrono::seconds(30)};
};

struct ChannelSet {
  bool stdin = false, stdout = false, stderr = false, resize = false;
};

// Runs one exec or attach. `jsonStatus`: the v4 protocol's error channel.
Outcome serveSpdySession(sys::UniqueFd fd, std::string leftover, const SpdyOptions& opts, ChannelSet expect,
                         bool jsonStatus, const SessionStarter& start);

void serveSpdyPortForward(sys::UniqueFd fd, std::string leftover, const SpdyOptions& opts, Backend& backend,
                          const std::string& sandboxId);

}  // namespace crix::streaming
