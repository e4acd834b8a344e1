#include "common/paths.h"

#include "common/sha256.h"

namespace crix {

namespace {

// Plain concatenation, as the layout always was: a root with a trailing
// slash gives "//", and existing data dirs and helpers' arguments match.
std::string join(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir).append("/").append(name);
  return out;
}

std::string hex16(std::string_view digest) {
  return std::string(hexOf(digest).substr(0, 16));
}

constexpr std::string_view kLayerScratchPrefix = "tmp-";

}  // namespace

std::string Paths::database() const {
  return join(root_, "crix.db");
}
std::string Paths::lockFile() const {
  return join(root_, "crix.lock");
}

std::string Paths::contentDir() const {
  return join(root_, "content");
}
std::string Paths::contentBlobsDir() const {
  return join(contentDir(), "sha256");
}
std::string Paths::contentBlob(std::string_view digest) const {
  return join(contentBlobsDir(), hexOf(digest));
}
std::string Paths::contentIngestDir() const {
  return join(contentDir(), "ingest");
}
std::string Paths::contentIngest(std::string_view name) const {
  return join(contentIngestDir(), name);
}

std::string Paths::layersDir() const {
  return join(root_, "layers");
}
std::string Paths::layerDir(std::string_view chainId) const {
  return join(layersDir(), hexOf(chainId));
}
std::string Paths::layerDiff(std::string_view chainId) const {
  return layerDiffIn(layerDir(chainId));
}
std::string Paths::layerSize(std::string_view chainId) const {
  return layerSizeIn(layerDir(chainId));
}
std::string Paths::layerUnpacking(std::string_view chainId, std::string_view unique) const {
  return join(layersDir(), std::string(kLayerScratchPrefix) + hex16(chainId) + "-" + std::string(unique));
}
std::string Paths::layerRemoving(std::string_view chainId, std::string_view unique) const {
  return join(layersDir(), std::string(kLayerScratchPrefix) + "rm-" + hex16(chainId) + "-" + std::string(unique));
}
bool Paths::isLayerScratch(std::string_view name) {
  return name.starts_with(kLayerScratchPrefix);
}
std::string Paths::layerDiffIn(std::string_view layerDir) {
  return join(layerDir, "diff");
}
std::string Paths::layerSizeIn(std::string_view layerDir) {
  return join(layerDir, "size");
}

std::string Paths::containersDir() const {
  return join(root_, "containers");
}
std::string Paths::containerDir(std::string_view id) const {
  return join(containersDir(), id);
}
std::string Paths::containerUpper(std::string_view id) const {
  return join(containerDir(id), "upper");
}
std::string Paths::containerWork(std::string_view id) const {
  return join(containerDir(id), "work");
}
std::string Paths::containerRootfs(std::string_view id) const {
  return join(containerDir(id), "merged");
}
std::string Paths::containerIdMapped(std::string_view id) const {
  return join(containerDir(id), "idmapped");
}
std::string Paths::containerIdMappedLayer(std::string_view id, size_t n) const {
  return join(containerIdMapped(id), std::to_string(n));
}
std::string Paths::containerImageVolume(std::string_view id, size_t n) const {
  return join(join(containerDir(id), "volumes"), std::to_string(n));
}
std::string Paths::containerVolumeMaps(std::string_view id) const {
  return join(containerDir(id), "volume-maps");
}
std::string Paths::containerVolumeImages(std::string_view id) const {
  return join(containerDir(id), "volume-images");
}
std::string Paths::containerVolumeImage(std::string_view id, size_t n) const {
  return join(containerVolumeImages(id), std::to_string(n));
}
std::string Paths::containerVolumeMap(std::string_view id, size_t n) const {
  return join(containerVolumeMaps(id), std::to_string(n));
}

std::string Paths::cniCacheDir() const {
  return join(root_, "cni");
}
std::string Paths::importDir() const {
  return join(root_, "import");
}
std::string Paths::cniAttachment(std::string_view podId) const {
  return join(cniCacheDir(), std::string(podId) + ".json");
}

std::string Paths::bundlesDir() const {
  return join(stateDir_, "containers");
}
std::string Paths::containerBundle(std::string_view id) const {
  return join(bundlesDir(), id);
}

std::string Paths::podsDir() const {
  return join(stateDir_, "pods");
}
std::string Paths::podDir(std::string_view podId) const {
  return join(podsDir(), podId);
}
std::string Paths::podHostname(std::string_view podId) const {
  return join(podDir(podId), "hostname");
}
std::string Paths::podHosts(std::string_view podId) const {
  return join(podDir(podId), "hosts");
}
std::string Paths::podResolvConf(std::string_view podId) const {
  return join(podDir(podId), "resolv.conf");
}
std::string Paths::podShm(std::string_view podId) const {
  return join(podDir(podId), "shm");
}
std::string Paths::podInfraBundle(std::string_view podId) const {
  return join(podDir(podId), "infra");
}
std::string Paths::podSysfs(std::string_view podId) const {
  return join(podDir(podId), "sysfs");
}
std::string Paths::podInfraLog(std::string_view podId) const {
  return join(podDir(podId), "infra.log");
}

std::string Paths::netnsDir() const {
  return join(stateDir_, "netns");
}
std::string Paths::podNetns(std::string_view podId) const {
  return join(netnsDir(), podId);
}
std::string Paths::usernsDir() const {
  return join(stateDir_, "userns");
}
std::string Paths::podUserns(std::string_view podId) const {
  return join(usernsDir(), podId);
}
std::string Paths::ipcnsDir() const {
  return join(stateDir_, "ipcns");
}
std::string Paths::podIpcns(std::string_view podId) const {
  return join(ipcnsDir(), podId);
}
std::string Paths::utsnsDir() const {
  return join(stateDir_, "utsns");
}
std::string Paths::podUtsns(std::string_view podId) const {
  return join(utsnsDir(), podId);
}

std::string Paths::exitsDir() const {
  return join(stateDir_, "exits");
}
std::string Paths::exitFile(std::string_view id) const {
  return join(exitsDir(), id);
}
std::string Paths::attachDir() const {
  return join(stateDir_, "attach");
}
std::string Paths::attachLink(std::string_view id) const {
  return join(attachDir(), id);
}

std::string Paths::execDir() const {
  return join(stateDir_, "exec");
}
std::string Paths::execPidFile(std::string_view id, uint64_t n) const {
  return join(execDir(), std::string(id.substr(0, 12)) + "-" + std::to_string(n) + ".pid");
}
std::string Paths::execProcessFile(std::string_view execPidFile) {
  return std::string(execPidFile) + ".process.json";
}

std::string Paths::runtimesDir() const {
  return join(stateDir_, "runtimes");
}
std::string Paths::runtimeRoot(std::string_view handler) const {
  return join(runtimesDir(), handler);
}
std::string Paths::gvisorStartShim() const {
  return join(stateDir_, "gvisor-start");
}

std::string Paths::bundleSpec(std::string_view bundle) {
  return join(bundle, "config.json");
}
std::string Paths::bundlePidFile(std::string_view bundle) {
  return join(bundle, "pidfile");
}
std::string Paths::bundleConmonPidFile(std::string_view bundle) {
  return join(bundle, "conmon.pid");
}
std::string Paths::bundleControlFifo(std::string_view bundle) {
  return join(bundle, "ctl");
}
std::string Paths::bundleAttachSocket(std::string_view bundle) {
  return join(bundle, "attach");
}
std::string Paths::bundleLog(std::string_view bundle) {
  return join(bundle, "ctr.log");
}
std::string Paths::bundleRunscPidFile(std::string_view bundle) {
  return join(bundle, "runsc.pid");
}
std::string Paths::bundleStartOptions(std::string_view bundle) {
  return join(bundle, "crix-start.json");
}

}  // namespace crix
