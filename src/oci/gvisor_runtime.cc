#include "oci/gvisor_runtime.h"

#include <sys/stat.h>

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "sys/fs.h"
#include "sys/process.h"

namespace crix::oci {
namespace {

using nlohmann::json;

// conmon runs this as the "runtime" of a subcontainer when it starts: its
// "create" is `runsc start`, which hands conmon's stdio to the container,
// then it leaves a waiter behind that exits with the container's status.
// The waiter is what conmon reaps (it is conmon's once this script exits)
// and what its exit file records.
constexpr const char* kStartShim = R"(#!/bin/bash
# Written by crixd (oci/gvisor_runtime): starts a gVisor subcontainer for conmon.
set -u
runsc= globals=()
while [ $# -gt 0 ] && [ "$1" != create ]; do
  case $1 in
    --crix-runsc=*) runsc=${1#--crix-runsc=} ;;
    *) globals+=("$1") ;;
  esac
  shift
done
[ $# -gt 0 ] && shift
pidfile= id=
while [ $# -gt 0 ]; do
  case $1 in
    --pid-file) pidfile=$2; shift ;;
    --bundle|-b) shift ;;
    --console-socket) echo "gVisor subcontainers with a terminal are not supported" >&2; exit 1 ;;
    -*) ;;
    *) id=$1 ;;
  esac
  shift
done
if [ -z "$runsc" ] || [ -z "$id" ] || [ -z "$pidfile" ]; then
  echo "usage: $0 --crix-runsc=RUNSC [runsc flags] create --pid-file FILE ID" >&2
  exit 2
fi
"$runsc" "${globals[@]}" start "$id" || exit 1
(
  out=$("$runsc" "${globals[@]}" wait "$id" 2>/dev/null)
  status=${out##*\"exitStatus\":}
  status=${status%%[!0-9]*}
  exit "${status:-255}"
) </dev/null >/dev/null 2>&1 &
echo $! > "$pidfile"
)";

bool isSubcontainer(const std::string& bundle) {
  auto text = sys::readFile(Paths::bundleSpec(bundle));
  if (!text) return false;
  auto spec = json::parse(*text, nullptr, false);
  if (!spec.is_object() || !spec.contains("annotations") || !spec["annotations"].is_object()) return false;
  return spec["annotations"].value("io.kubernetes.cri.container-type", "") == "container";
}

class GvisorRuntime final : public OciRuntime {
 public:
  GvisorRuntime(RuntimeConfig cfg, std::string shim) : cfg_(cfg) {
    sandbox_ = makeConmonRuntime(cfg);
    RuntimeConfig starter = cfg;
    starter.runtime = shim;
    starter.runtimeArgs.push_back("--crix-runsc=" + cfg.runtime);
    starter_ = makeConmonRuntime(std::move(starter));
  }

  Result<int> create(const CreateOptions& o) override {
    {
      std::lock_guard lock(mu_);
      bundles_[o.id] = o.bundle;
    }
    if (!isSubcontainer(o.bundle)) return sandbox_->create(o);
    if (o.terminal)
      return fail(Code::InvalidArgument,
                  "container " + o.id + ": a terminal (tty) is not supported under gVisor yet: conmon cannot hold it");
    std::vector<std::string> argv = command();
    std::string pidFile = Paths::bundleRunscPidFile(o.bundle);
    argv.insert(argv.end(), {"create", "--bundle", o.bundle, "--pid-file", pidFile, o.id});
    auto out = TRY(sys::runCommand(argv, {.timeout = std::chrono::seconds(60)}));
    if (out.exitCode != 0)
      return fail(Code::Internal, "runsc create " + o.id + ": " + (out.err.empty() ? out.out : out.err));
    json saved{
        {"id", o.id}, {"bundle", o.bundle}, {"logPath", o.logPath}, {"stdin", o.stdin}, {"stdinOnce", o.stdinOnce}};
    TRY(sys::writeFileAtomic(Paths::bundleStartOptions(o.bundle), saved.dump(), 0600));
    auto pid = sys::readFile(pidFile);
    return pid ? std::atoi(pid->c_str()) : 0;
  }

  Result<> start(const std::string& id) override {
    std::string bundle = TRY(bundleOf(id));
    std::string options = Paths::bundleStartOptions(bundle);
    auto text = sys::readFile(options);
    if (!text) return sandbox_->start(id);  // the sandbox itself
    auto saved = json::parse(*text, nullptr, false);
    if (!saved.is_object()) return fail(Code::Internal, "container " + id + ": bad " + options);
    CreateOptions o{
        id, bundle, saved.value("logPath", ""), false, saved.value("stdin", false), saved.value("stdinOnce", false)};
    TRY_CTX(starter_->create(o), "start gVisor container " + id);
    return {};
  }

  Result<> kill(const std::string& id, int signal) override { return sandbox_->kill(id, signal); }
  Result<> remove(const std::string& id, bool force) override {
    {
      std::lock_guard lock(mu_);
      bundles_.erase(id);
    }
    return sandbox_->remove(id, force);
  }
  Result<State> state(const std::string& id) override { return sandbox_->state(id); }
  Result<> update(const std::string& id, const std::string& resourcesJson) override {
    return sandbox_->update(id, resourcesJson);
  }
  Result<sys::CommandResult> exec(const std::string& id, const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout) override {
    return sandbox_->exec(id, args, timeout);
  }
  Result<std::unique_ptr<StreamProcess>> execStream(const std::string& id, const std::vector<std::string>& args,
                                                    const ExecStreamOptions& opts) override {
    return sandbox_->execStream(id, args, opts);
  }
  Result<std::unique_ptr<StreamProcess>> attach(const std::string& id, const std::string& bundle) override {
    return sandbox_->attach(id, bundle);
  }
  Result<> reopenLog(const std::string& bundle, const std::string& logPath) override {
    return sandbox_->reopenLog(bundle, logPath);
  }
  Result<std::optional<int>> exitCode(const std::string& id) override { return sandbox_->exitCode(id); }

 private:
  std::vector<std::string> command() const { return runtimeCommand(cfg_); }

  // The bundle of a created container: remembered, or (after a restart)
  // from runsc's state.
  Result<std::string> bundleOf(const std::string& id) {
    {
      std::lock_guard lock(mu_);
      if (auto it = bundles_.find(id); it != bundles_.end()) return it->second;
    }
    std::vector<std::string> argv = command();
    argv.insert(argv.end(), {"state", id});
    auto out = TRY(sys::runCommand(argv));
    auto st = json::parse(out.out, nullptr, false);
    if (out.exitCode != 0 || !st.is_object() || !st.contains("bundle"))
      return fail(Code::NotFound, "container " + id + " does not exist in runsc: " + out.err);
    return st["bundle"].get<std::string>();
  }

  RuntimeConfig cfg_;
  std::unique_ptr<OciRuntime> sandbox_, starter_;
  std::mutex mu_;
  std::map<std::string, std::string> bundles_;  // id → bundle of created containers
};

}  // namespace

const char* gvisorStartShim() {
  return kStartShim;
}

Result<std::unique_ptr<OciRuntime>> makeGvisorRuntime(RuntimeConfig cfg) {
  std::string shim = cfg.paths().gvisorStartShim();
  TRY(sys::mkdirAll(cfg.stateDir, 0755));
  TRY(sys::writeFileAtomic(shim, kStartShim, 0700));
  return std::unique_ptr<OciRuntime>(std::make_unique<GvisorRuntime>(std::move(cfg), shim));
}

}  // namespace crix::oci
