#include "lifecycle/runtimes.h"

#include <filesystem>

#include "lifecycle/instrumented.h"
#include "oci/gvisor_runtime.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::lifecycle {

std::optional<std::string> cgroupRefusal(const std::string& runtimePath, const cgroups::HostLayout& layout) {
  if (std::filesystem::path(runtimePath).filename() != "crun") return std::nullopt;
  return cgroups::crunRefusal(layout);
}

Result<std::unique_ptr<Runtimes>> Runtimes::create(const config::Config& cfg, metrics::Registry& metrics) {
  auto r = std::make_unique<Runtimes>();
  auto layout = cgroups::readHostLayout();
  for (const auto& [name, h] : cfg.runtimes) {
    auto monitor = sys::lookPath(h.monitorPath.empty() ? cfg.conmon : h.monitorPath);
    if (!monitor) {
      r->broken_[name] = "monitor: " + monitor.error().message();
      continue;
    }
    auto bin = sys::lookPath(h.path);
    if (!bin) {
      r->broken_[name] = bin.error().message();
      continue;
    }
    if (auto refusal = cgroupRefusal(*bin, layout)) {
      r->broken_[name] = *refusal;
      continue;
    }
    if (!h.baseSpec.empty()) {
      auto text = sys::readFile(h.baseSpec);
      auto base = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
      if (!text || !base.is_object()) {
        r->broken_[name] = "base spec " + h.baseSpec + ": " + (text ? "not a JSON object" : text.error().message());
        continue;
      }
      r->baseSpecs_[name] = std::move(base);
    }
    TRY(sys::mkdirAll(cfg.runtimeRoot(name), 0700));
    oci::RuntimeConfig rc{*monitor,       *bin,          cfg.runtimeRoot(name),        cfg.stateDir,
                          cfg.logSizeMax, h.runtimeArgs, cfg.cgroupDriver == "systemd"};
    std::unique_ptr<oci::OciRuntime> runtime;
    if (isSandboxed(h)) {
      runtime = TRY(oci::makeGvisorRuntime(std::move(rc)));
    } else {
      r->ociBinaries_[name] = *bin;
      runtime = oci::makeConmonRuntime(std::move(rc));
    }
    r->byHandler_[name] = std::make_unique<TimedOciRuntime>(std::move(runtime), metrics);
  }
  return r;
}

Result<oci::OciRuntime*> Runtimes::get(const std::string& handler) const {
  if (auto it = byHandler_.find(handler); it != byHandler_.end()) return it->second.get();
  if (auto it = broken_.find(handler); it != broken_.end())
    return fail(Code::FailedPrecondition, "runtime handler " + handler + " cannot run: " + it->second);
  return fail(Code::InvalidArgument, "unknown runtime handler \"" + handler + "\"");
}

namespace {

// Why `runtime` makes no recursive read-only mounts, or "" when it does.
std::string rroRefusalOf(const std::string& runtime) {
  if (!sys::kernelHasMountSetattr()) return "the kernel has no mount_setattr (Linux 5.12 or newer needs it)";
  auto ran = sys::runCommand({runtime, "features"}, {.timeout = std::chrono::seconds(5)});
  if (!ran) return runtime + " features: " + ran.error().message();
  if (ran->exitCode != 0)
    return runtime + " has no features command (exit code " + std::to_string(ran->exitCode) +
           "), so it cannot say it supports rro";
  auto answer = nlohmann::json::parse(ran->out, nullptr, false);
  const auto options = answer.is_object() ? answer.value("mountOptions", nlohmann::json::array()) : nlohmann::json();
  if (options.is_array())
    for (const auto& o : options)
      if (o == "rro") return "";
  return runtime + " does not list the rro mount option among its features";
}

}  // namespace

Result<> Runtimes::recursiveReadOnly(const std::string& handler) const {
  TRY(get(handler));
  std::lock_guard lock(featuresMu_);
  auto it = rroRefusal_.find(handler);
  if (it == rroRefusal_.end()) {
    auto bin = ociBinaries_.find(handler);
    std::string why = bin == ociBinaries_.end()
                          ? "crix makes them only through an OCI runtime under conmon that lists rro"
                          : rroRefusalOf(bin->second);
    it = rroRefusal_.emplace(handler, why).first;
  }
  if (!it->second.empty())
    return fail(Code::FailedPrecondition,
                "runtime handler " + handler + " cannot make recursive read-only mounts: " + it->second);
  return {};
}

const nlohmann::json* Runtimes::baseSpec(const std::string& handler) const {
  auto it = baseSpecs_.find(handler);
  return it == baseSpecs_.end() ? nullptr : &it->second;
}

}  // namespace crix::lifecycle
