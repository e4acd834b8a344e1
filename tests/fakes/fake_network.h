// A fake network plugin: ADD attaches a pod (10.88.0.N), DEL detaches it
// (fine when nothing is attached), CHECK is NotFound for a pod not
// attached. Every call is recorded; a test can make the next call of an
// operation fail. Thread-safe.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "network/cni.h"

namespace crix::test {

class FakeNetwork final : public network::NetworkPlugin {
 public:
  struct Call {
    std::string op;  // add, del, check, status
    std::string containerId;
    bool operator==(const Call&) const = default;
  };

  // The next call of `op` fails with `err` (queued: one failure per call).
  void failNext(const std::string& op, Error err) {
    std::lock_guard lock(mu_);
    failures_[op].push_back(std::move(err));
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int count(const std::string& op) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& c : calls_) n += c.op == op;
    return n;
  }
  bool attached(const std::string& containerId) const {
    std::lock_guard lock(mu_);
    return attached_.count(containerId) > 0;
  }

  Result<network::NetworkStatus> add(const network::Attachment& a) override {
    std::lock_guard lock(mu_);
    TRY(enter("add", a.containerId));
    attached_.insert(a.containerId);
    std::string ip = "10.88.0." + std::to_string(++added_ % 250 + 2);
    return network::NetworkStatus{"fake", {ip}, R"({"cniVersion":"1.0.0","ips":[{"address":")" + ip + R"(/16"}]})"};
  }
  Result<> del(const std::string& containerId) override {
    std::lock_guard lock(mu_);
    TRY(enter("del", containerId));
    attached_.erase(containerId);
    return {};
  }
  Result<> check(const std::string& containerId) override {
    std::lock_guard lock(mu_);
    TRY(enter("check", containerId));
    if (!attached_.count(containerId)) return fail(Code::NotFound, "no network attachment for " + containerId);
    return {};
  }
  Result<> status() override {
    std::lock_guard lock(mu_);
    return enter("status", "");
  }

 private:
  // Under mu_: records the call and returns its injected failure, if any.
  Result<> enter(const std::string& op, const std::string& containerId) {
    calls_.push_back({op, containerId});
    auto it = failures_.find(op);
    if (it == failures_.end() || it->second.empty()) return {};
    Error err = std::move(it->second.front());
    it->second.pop_front();
    return fail(std::move(err));
  }

  mutable std::mutex mu_;
  std::vector<Call> calls_;
  std::map<std::string, std::deque<Error>> failures_;
  std::set<std::string> attached_;
  int added_ = 0;
};

}  // namespace crix::test
