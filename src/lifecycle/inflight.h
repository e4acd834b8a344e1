// Calls in flight, joined by their retries. When RunPodSandbox or
// CreateContainer outlives the kubelet's deadline, the kubelet asks again
// with the same metadata; the retry joins the call still running (keyed by
// the name it reserves) and gets its result, or its error, instead of
// AlreadyExists. The work stops, at its next step, only when every client
// waiting for it has gone: then it rolls back and leaves nothing behind.
//
//   first call ──enter(name)──► runner ── steps ... ──► finish(result) ──► leave
//   retry      ──enter(name)──► joiner ── wait() ◄───────────┘
//   abandoned(): the runner's client and every joiner's have gone
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace crix::lifecycle {

// Whether a client still waits for a call: false once its deadline passed
// or it cancelled. An empty one never goes away (start-up, tests).
using ClientGone = std::function<bool()>;

// A fault point (common/fault.h), then the check that someone still waits.
Result<> checkpoint(std::string_view point, const ClientGone& abandoned);

class InFlightCall {
 public:
  // True when every client of the call has gone.
  bool abandoned();
  void finish(const Result<std::string>& result);
  // For a joiner: the runner's result, or DeadlineExceeded when this
  // joiner's own client goes first.
  Result<std::string> wait(const ClientGone& gone);

 private:
  friend class InFlight;
  size_t addWaiter(ClientGone gone);  // under mu_
  std::mutex mu_;
  std::condition_variable done_;
  std::optional<Result<std::string>> result_;
  std::vector<ClientGone> waiters_;  // a finished joiner's slot is emptied
  std::vector<bool> left_;
};

class InFlight {
 public:
  struct Entered {
    std::shared_ptr<InFlightCall> call;
    bool runner = false;  // false: join it with call->wait()
  };
  Entered enter(const std::string& name, ClientGone gone);
  // The runner, once finish()ed: later calls with the name start afresh.
  void leave(const std::string& name, const std::shared_ptr<InFlightCall>& call);

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<InFlightCall>> byName_;
};

// Runs `work` as the call for `name`, or joins the one running; `work`
// gets the predicate to check at its steps.
Result<std::string> runOrJoin(InFlight& inflight, const std::string& name, const ClientGone& gone,
                              const std::function<Result<std::string>(const ClientGone& abandoned)>& work);

}  // namespace crix::lifecycle
