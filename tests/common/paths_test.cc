#include "common/paths.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace crix {
namespace {

const std::string kChain = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kId = "5f2c0a1b2c3d4e5f5f2c0a1b2c3d4e5f5f2c0a1b2c3d4e5f5f2c0a1b2c3d4e5f";

struct Row {
  std::string got, want;
};

// One row per path: existing data dirs and the helpers of an earlier crixd
// (conmon's --exit-dir, the runtime's --root) depend on every one of them.
TEST(Paths, DrawsTheLayoutUnderBothRoots) {
  const Paths p("/var/lib/crix", "/run/crix");
  const std::string b = p.containerBundle(kId);
  const std::vector<Row> rows = {
      {p.root(), "/var/lib/crix"},
      {p.stateDir(), "/run/crix"},
      {p.database(), "/var/lib/crix/crix.db"},
      {p.lockFile(), "/var/lib/crix/crix.lock"},
      {p.contentDir(), "/var/lib/crix/content"},
      {p.contentBlobsDir(), "/var/lib/crix/content/sha256"},
      {p.contentBlob(kChain), "/var/lib/crix/content/sha256/" + kHex},
      {p.contentIngestDir(), "/var/lib/crix/content/ingest"},
      {p.contentIngest("import-7-0"), "/var/lib/crix/content/ingest/import-7-0"},
      {p.layersDir(), "/var/lib/crix/layers"},
      {p.layerDir(kChain), "/var/lib/crix/layers/" + kHex},
      {p.layerDiff(kChain), "/var/lib/crix/layers/" + kHex + "/diff"},
      {p.layerSize(kChain), "/var/lib/crix/layers/" + kHex + "/size"},
      {p.layerUnpacking(kChain, "7-0"), "/var/lib/crix/layers/tmp-0123456789abcdef-7-0"},
      {p.layerRemoving(kChain, "3"), "/var/lib/crix/layers/tmp-rm-0123456789abcdef-3"},
      {Paths::layerDiffIn(p.layerUnpacking(kChain, "7-0")), "/var/lib/crix/layers/tmp-0123456789abcdef-7-0/diff"},
      {Paths::layerSizeIn(p.layerUnpacking(kChain, "7-0")), "/var/lib/crix/layers/tmp-0123456789abcdef-7-0/size"},
      {p.containersDir(), "/var/lib/crix/containers"},
      {p.containerDir(kId), "/var/lib/crix/containers/" + kId},
      {p.containerUpper(kId), "/var/lib/crix/containers/" + kId + "/upper"},
      {p.containerWork(kId), "/var/lib/crix/containers/" + kId + "/work"},
      {p.containerRootfs(kId), "/var/lib/crix/containers/" + kId + "/merged"},
      {p.containerIdMapped(kId), "/var/lib/crix/containers/" + kId + "/idmapped"},
      {p.containerIdMappedLayer(kId, 2), "/var/lib/crix/containers/" + kId + "/idmapped/2"},
      {p.containerImageVolume(kId, 0), "/var/lib/crix/containers/" + kId + "/volumes/0"},
      {p.containerVolumeMaps(kId), "/var/lib/crix/containers/" + kId + "/volume-maps"},
      {p.containerVolumeMap(kId, 1), "/var/lib/crix/containers/" + kId + "/volume-maps/1"},
      {p.cniCacheDir(), "/var/lib/crix/cni"},
      {p.cniAttachment(kId), "/var/lib/crix/cni/" + kId + ".json"},
      {p.bundlesDir(), "/run/crix/containers"},
      {b, "/run/crix/containers/" + kId},
      {p.podsDir(), "/run/crix/pods"},
      {p.podDir(kId), "/run/crix/pods/" + kId},
      {p.podHostname(kId), "/run/crix/pods/" + kId + "/hostname"},
      {p.podHosts(kId), "/run/crix/pods/" + kId + "/hosts"},
      {p.podResolvConf(kId), "/run/crix/pods/" + kId + "/resolv.conf"},
      {p.podShm(kId), "/run/crix/pods/" + kId + "/shm"},
      {p.podInfraBundle(kId), "/run/crix/pods/" + kId + "/infra"},
      {p.podInfraLog(kId), "/run/crix/pods/" + kId + "/infra.log"},
      {p.netnsDir(), "/run/crix/netns"},
      {p.podNetns(kId), "/run/crix/netns/" + kId},
      {p.usernsDir(), "/run/crix/userns"},
      {p.podUserns(kId), "/run/crix/userns/" + kId},
      {p.importDir(), "/var/lib/crix/import"},
      {p.podSysfs(kId), "/run/crix/pods/" + kId + "/sysfs"},
      {p.ipcnsDir(), "/run/crix/ipcns"},
      {p.podIpcns(kId), "/run/crix/ipcns/" + kId},
      {p.utsnsDir(), "/run/crix/utsns"},
      {p.podUtsns(kId), "/run/crix/utsns/" + kId},
      {p.exitsDir(), "/run/crix/exits"},
      {p.exitFile(kId), "/run/crix/exits/" + kId},
      {p.attachDir(), "/run/crix/attach"},
      {p.attachLink(kId), "/run/crix/attach/" + kId},
      {p.execDir(), "/run/crix/exec"},
      {p.execPidFile(kId, 4), "/run/crix/exec/5f2c0a1b2c3d-4.pid"},
      {Paths::execProcessFile(p.execPidFile(kId, 4)), "/run/crix/exec/5f2c0a1b2c3d-4.pid.process.json"},
      {p.runtimesDir(), "/run/crix/runtimes"},
      {p.runtimeRoot("runc"), "/run/crix/runtimes/runc"},
      {p.gvisorStartShim(), "/run/crix/gvisor-start"},
      {Paths::bundleSpec(b), b + "/config.json"},
      {Paths::bundlePidFile(b), b + "/pidfile"},
      {Paths::bundleConmonPidFile(b), b + "/conmon.pid"},
      {Paths::bundleControlFifo(b), b + "/ctl"},
      {Paths::bundleAttachSocket(b), b + "/attach"},
      {Paths::bundleLog(b), b + "/ctr.log"},
      {Paths::bundleRunscPidFile(b), b + "/runsc.pid"},
      {Paths::bundleStartOptions(b), b + "/crix-start.json"},
  };
  for (const auto& r : rows) EXPECT_EQ(r.got, r.want);
}

// A root is joined as written, never normalized: recovery compares the
// --exit-dir of running conmons with exitsDir() as a string.
TEST(Paths, JoinsRootsAsGiven) {
  const Paths p("/var/lib/crix/", "run");
  EXPECT_EQ(p.containersDir(), "/var/lib/crix//containers");
  EXPECT_EQ(p.exitsDir(), "run/exits");
}

TEST(Paths, TellsLayerScratchFromLayers) {
  const Paths p("/r", "/s");
  const std::string layers = p.layersDir() + "/";
  for (const auto& scratch : {p.layerUnpacking(kChain, "1-2"), p.layerRemoving(kChain, "3")})
    EXPECT_TRUE(Paths::isLayerScratch(scratch.substr(layers.size()))) << scratch;
  EXPECT_TRUE(Paths::isLayerScratch("tmp-interrupted"));
  EXPECT_FALSE(Paths::isLayerScratch(p.layerDir(kChain).substr(layers.size())));
}

TEST(Paths, ShortExecIdsAreKeptWhole) {
  EXPECT_EQ(Paths("/r", "/s").execPidFile("abc", 0), "/s/exec/abc-0.pid");
}

}  // namespace
}  // namespace crix
