#include "lifecycle/inflight.h"

#include <chrono>

#include "common/fault.h"

namespace crix::lifecycle {

Result<> checkpoint(std::string_view point, const ClientGone& abandoned) {
  TRY(faultPoint(point));
  if (abandoned && abandoned())
    return fail(Code::DeadlineExceeded, "the client went away (deadline or cancel) before " + std::string(point));
  return {};
}

size_t InFlightCall::addWaiter(ClientGone gone) {
  waiters_.push_back(std::move(gone));
  left_.push_back(false);
  return waiters_.size() - 1;
}

bool InFlightCall::abandoned() {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < waiters_.size(); ++i) {
    if (left_[i]) continue;
    if (!waiters_[i] || !waiters_[i]()) return false;
  }
  return true;
}

void InFlightCall::finish(const Result<std::string>& result) {
  std::lock_guard lock(mu_);
  result_ = result;
  done_.notify_all();
}

Result<std::string> InFlightCall::wait(const ClientGone& gone) {
  std::unique_lock lock(mu_);
  size_t slot = addWaiter(gone);
  while (!result_) {
    done_.wait_for(lock, std::chrono::milliseconds(100));
    if (!result_ && gone && gone()) {
      // The predicate may point into a call that ends now: never ask it again.
      left_[slot] = true;
      waiters_[slot] = nullptr;
      return fail(Code::DeadlineExceeded, "the client went away while the first call was still running");
    }
  }
  left_[slot] = true;
  waiters_[slot] = nullptr;
  return *result_;
}

InFlight::Entered InFlight::enter(const std::string& name, ClientGone gone) {
  std::lock_guard lock(mu_);
  if (auto it = byName_.find(name); it != byName_.end()) return {it->second, false};
  auto call = std::make_shared<InFlightCall>();
  {
    std::lock_guard callLock(call->mu_);
    call->addWaiter(std::move(gone));
  }
  byName_[name] = call;
  return {call, true};
}

void InFlight::leave(const std::string& name, const std::shared_ptr<InFlightCall>& call) {
  std::lock_guard lock(mu_);
  if (auto it = byName_.find(name); it != byName_.end() && it->second == call) byName_.erase(it);
}

Result<std::string> runOrJoin(InFlight& inflight, const std::string& name, const ClientGone& gone,
                              const std::function<Result<std::string>(const ClientGone& abandoned)>& work) {
  auto entered = inflight.enter(name, gone);
  if (!entered.runner) return entered.call->wait(gone);
  auto call = entered.call;
  Result<std::string> result = work([call] { return call->abandoned(); });
  // Leave first: a retry that comes now starts afresh instead of joining a
  // call that is over (and taking, say, its rolled-back error).
  inflight.leave(name, call);
  call->finish(result);
  return result;
}

}  // namespace crix::lifecycle
