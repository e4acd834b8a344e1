#include "fakes/fake_oci_runtime.h"

#include <signal.h>

#include <thread>

namespace crix::test {
namespace {

bool live(const std::string& status) {
  return status == "created" || status == "running";
}

}  // namespace

void FakeOciRuntime::addContainer(const std::string& id, const std::string& status) {
  std::lock_guard lock(mu_);
  containers_[id] = {status, nextPid_++};
}

void FakeOciRuntime::exit(const std::string& id, int code) {
  bool exited = false;
  {
    std::lock_guard lock(mu_);
    exited = exitLocked(id, code);
  }
  if (exited) notify(id);
}

void FakeOciRuntime::setExitOnKill(bool on) {
  std::lock_guard lock(mu_);
  exitOnKill_ = on;
}

void FakeOciRuntime::setExitListener(std::function<void(const std::string&)> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

void FakeOciRuntime::failNext(const std::string& op, Error err) {
  std::lock_guard lock(mu_);
  failures_[op].push_back(std::move(err));
}

void FakeOciRuntime::setDelay(const std::string& op, std::chrono::milliseconds d) {
  std::lock_guard lock(mu_);
  delays_[op] = d;
}

std::vector<FakeOciRuntime::Call> FakeOciRuntime::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

int FakeOciRuntime::count(const std::string& op, const std::string& id) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& c : calls_)
    if (c.op == op && (id.empty() || c.id == id)) ++n;
  return n;
}

std::optional<std::string> FakeOciRuntime::status(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second.status;
}

Result<> FakeOciRuntime::enter(const std::string& op, const std::string& id, const std::string& arg) {
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(mu_);
    calls_.push_back({op, id, arg});
    if (auto it = delays_.find(op); it != delays_.end()) delay = it->second;
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  std::lock_guard lock(mu_);
  auto it = failures_.find(op);
  if (it == failures_.end() || it->second.empty()) return {};
  Error err = std::move(it->second.front());
  it->second.pop_front();
  return fail(std::move(err));
}

bool FakeOciRuntime::exitLocked(const std::string& id, int code) {
  auto it = containers_.find(id);
  if (it == containers_.end() || !live(it->second.status)) return false;
  it->second.status = "stopped";
  exits_[id] = code;
  return true;
}

void FakeOciRuntime::notify(const std::string& id) {
  std::function<void(const std::string&)> listener;
  {
    std::lock_guard lock(mu_);
    listener = listener_;
  }
  if (listener) listener(id);
}

Result<int> FakeOciRuntime::create(const oci::CreateOptions& opts) {
  TRY(enter("create", opts.id));
  std::lock_guard lock(mu_);
  if (containers_.count(opts.id)) return fail(Code::Internal, "container " + opts.id + " already exists");
  int pid = nextPid_++;
  containers_[opts.id] = {"created", pid};
  return pid;
}

Result<> FakeOciRuntime::start(const std::string& id) {
  TRY(enter("start", id));
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return fail(Code::NotFound, "container " + id + " does not exist");
  if (it->second.status != "created") return fail(Code::Internal, "container " + id + " is " + it->second.status);
  it->second.status = "running";
  return {};
}

Result<> FakeOciRuntime::kill(const std::string& id, int signal) {
  TRY(enter("kill", id, std::to_string(signal)));
  bool exited = false;
  {
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return fail(Code::NotFound, "container " + id + " does not exist");
    if (!live(it->second.status)) return fail(Code::Internal, "container " + id + " is not running");
    if (exitOnKill_) exited = exitLocked(id, 128 + signal);
  }
  if (exited) notify(id);
  return {};
}

Result<> FakeOciRuntime::remove(const std::string& id, bool force) {
  TRY(enter("remove", id, force ? "force" : ""));
  bool exited = false;
  {
    std::lock_guard lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return {};  // as `runc delete` of an unknown id is taken
    if (it->second.status == "running" && !force)
      return fail(Code::Internal, "cannot delete container " + id + ": it is running");
    exited = exitLocked(id, 128 + SIGKILL);
    containers_.erase(id);
  }
  if (exited) notify(id);
  return {};
}

Result<oci::State> FakeOciRuntime::state(const std::string& id) {
  TRY(enter("state", id));
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return fail(Code::NotFound, "container " + id + " does not exist in the runtime");
  return oci::State{it->second.status, it->second.pid};
}

Result<> FakeOciRuntime::update(const std::string& id, const std::string& resourcesJson) {
  TRY(enter("update", id, resourcesJson));
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end() || !live(it->second.status))
    return fail(Code::Internal, "runtime update " + id + ": not running");
  return {};
}

Result<sys::CommandResult> FakeOciRuntime::exec(const std::string& id, const std::vector<std::string>& args,
                                                std::chrono::milliseconds) {
  std::string cmd;
  for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
  TRY(enter("exec", id, cmd));
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.status != "running")
    return fail(Code::Internal, "exec in " + id + ": not running");
  return sys::CommandResult{.exitCode = 0, .signal = 0, .out = cmd, .err = ""};
}

Result<std::unique_ptr<oci::StreamProcess>> FakeOciRuntime::execStream(const std::string& id,
                                                                       const std::vector<std::string>&,
                                                                       const oci::ExecStreamOptions&) {
  TRY(enter("execStream", id));
  return fail(Code::Unimplemented, "the fake runtime does not stream");
}

Result<std::unique_ptr<oci::StreamProcess>> FakeOciRuntime::attach(const std::string& id, const std::string&) {
  TRY(enter("attach", id));
  return fail(Code::Unimplemented, "the fake runtime does not stream");
}

Result<> FakeOciRuntime::reopenLog(const std::string& bundle, const std::string& logPath) {
  return enter("reopenLog", bundle, logPath);
}

Result<std::optional<int>> FakeOciRuntime::exitCode(const std::string& id) {
  TRY(enter("exitCode", id));
  std::lock_guard lock(mu_);
  auto it = exits_.find(id);
  if (it == exits_.end()) return std::optional<int>();
  return std::optional<int>(it->second);
}

}  // namespace crix::test
