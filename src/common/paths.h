// The on-disk layout: every path crixd keeps under its two roots, built
// here and nowhere else. Both roots are configurable ([daemon] root and
// state_dir), so tests run whole daemons side by side in temp dirs.
//
//   <root>/  (/var/lib/crix: kept across reboots)
//   ├── crix.db                     database()              the database (WAL beside it)
//   ├── crix.lock                   lockFile()              held by the one crixd of this root
//   ├── content/                    contentDir()
//   │   ├── sha256/                 contentBlobsDir()
//   │   │   └── <hex>               contentBlob(digest)     manifests, configs, compressed layers
//   │   └── ingest/                 contentIngestDir()      emptied at start-up
//   │       └── <name>              contentIngest(name)     a blob or an archive import being written
//   ├── layers/                     layersDir()
//   │   ├── <chain-hex>/            layerDir(chainId)       an unpacked layer, whole once present
//   │   │   ├── diff/               layerDiff(chainId)      its files, whiteouts as overlayfs reads them
//   │   │   └── size                layerSize(chainId)      bytes it uses on disk, written at commit
//   │   ├── tmp-<hex16>-<u>/        layerUnpacking(..)      a layer being unpacked    } tmp-*: swept
//   │   └── tmp-rm-<hex16>-<u>/     layerRemoving(..)       a removed layer, deleting } at start-up
//   ├── containers/                 containersDir()
//   │   └── <id>/                   containerDir(id)        a container's, or a pod's infra container's
//   │       ├── upper/              containerUpper(id)      the writable layer
//   │       ├── work/               containerWork(id)       overlayfs scratch
//   │       ├── merged/             containerRootfs(id)     the mounted root filesystem
//   │       ├── idmapped/<n>        containerIdMappedLayer  layer n seen through the pod's user namespace,
//   │       │                                               only while the rootfs is being mounted
//   │       ├── volumes/<n>         containerImageVolume    a fresh dir for the image's n-th Volume
//   │       ├── volume-maps/<n>     containerVolumeMap      CRI mount n, idmapped, only while the runtime
//   │       │                                               creates the container
//   │       └── volume-images/<n>   containerVolumeImage    image volume n (Mount.image): its image's
//   │                                                       layers, read-only, only while the runtime
//   │                                                       creates the container
//   ├── cni/                        cniCacheDir()
//   │   └── <pod-id>.json           cniAttachment(podId)    CNI config, args and result, written before ADD
//   └── import/                     importDir()             the only place PullImage reads oci-archive: and
//                                                           docker-archive: references from (crixctl image
//                                                           import links or copies archives here)
//
//   <state_dir>/  (/run/crix: gone at reboot)
//   ├── containers/                 bundlesDir()
//   │   └── <id>/                   containerBundle(id)     the container's OCI bundle (below)
//   ├── pods/                       podsDir()
//   │   └── <pod-id>/               podDir(podId)
//   │       ├── hostname            podHostname(podId)      } bind-mounted into the pod's containers
//   │       ├── hosts               podHosts(podId)         }
//   │       ├── resolv.conf         podResolvConf(podId)    }
//   │       ├── shm/                podShm(podId)           a tmpfs: the pod's /dev/shm
//   │       ├── sysfs/              podSysfs(podId)         privileged pods: the network namespace's sysfs,
//   │                                                       mounted read-write first (see HostOps::mountSysfs)
//   │       ├── infra/              podInfraBundle(podId)   the infra container's OCI bundle (below)
//   │       └── infra.log           podInfraLog(podId)      the infra container's output
//   ├── netns/                      netnsDir()
//   │   └── <pod-id>                podNetns(podId)         a pinned network namespace (bind mount)
//   ├── userns/                     usernsDir()
//   │   └── <pod-id>                podUserns(podId)        a pinned user namespace, for pods asking one
//   ├── ipcns/                      ipcnsDir()
//   │   └── <pod-id>                podIpcns(podId)         the pod's pinned IPC namespace, unless the host's
//   ├── utsns/                      utsnsDir()
//   │   └── <pod-id>                podUtsns(podId)         the pod's pinned UTS namespace (its hostname)
//   ├── exits/                      exitsDir()              conmon's --exit-dir
//   │   └── <id>                    exitFile(id)            the exit code, written when the container ends
//   ├── attach/                     attachDir()             conmon's --socket-dir-path
//   │   └── <id> -> <bundle>        attachLink(id)          conmon's link; its socket is <id>/attach
//   ├── exec/                       execDir()               emptied at start-up
//   │   ├── <id12>-<n>.pid          execPidFile(id, n)      one exec's pid, to kill it on timeout
//   │   └── <id12>-<n>.pid.process.json  execProcessFile    its process, for a sized terminal
//   ├── runtimes/                   runtimesDir()
//   │   └── <handler>/              runtimeRoot(handler)    the OCI runtime's --root, unless the
//   │                                                       handler sets its own
//   └── gvisor-start                gvisorStartShim()       conmon's "runtime" to start gVisor subcontainers
//
//   <bundle>/  (containerBundle(id) or podInfraBundle(podId))
//   ├── config.json                 bundleSpec(b)           the OCI runtime spec
//   ├── pidfile                     bundlePidFile(b)        the container's pid, written by the runtime
//   ├── conmon.pid                  bundleConmonPidFile(b)  its conmon's pid
//   ├── ctl                         bundleControlFifo(b)    conmon's control fifo: resize, reopen the log
//   ├── winsz                                               conmon's own
//   ├── attach                      bundleAttachSocket(b)   conmon's attach socket (SOCK_SEQPACKET)
//   ├── ctr.log                     bundleLog(b)            the log when CRI names none
//   ├── runsc.pid                   bundleRunscPidFile(b)   } gVisor subcontainers: made by `runsc create`,
//   └── crix-start.json             bundleStartOptions(b)   } started through gvisor-start
//
// Files written with sys::writeFileAtomic pass through <name>.tmp.<pid>
// beside their final name; recovery sweeps those left by a crash.
//
// The roots are used as given, never normalized: recovery tells its own
// conmons by comparing their --exit-dir with exitsDir() as a string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace crix {

class Paths {
 public:
  // Either root may be empty for a user that needs only the other's paths.
  Paths(std::string root, std::string stateDir) : root_(std::move(root)), stateDir_(std::move(stateDir)) {}

  const std::string& root() const { return root_; }
  const std::string& stateDir() const { return stateDir_; }

  // <root>
  std::string database() const;
  std::string lockFile() const;

  std::string contentDir() const;
  std::string contentBlobsDir() const;
  std::string contentBlob(std::string_view digest) const;  // "sha256:<hex>"
  std::string contentIngestDir() const;
  std::string contentIngest(std::string_view name) const;

  std::string layersDir() const;
  std::string layerDir(std::string_view chainId) const;  // "sha256:<hex>"
  std::string layerDiff(std::string_view chainId) const;
  std::string layerSize(std::string_view chainId) const;
  // Scratch directories of one unpack or removal of `chainId`; `unique`
  // tells concurrent ones apart. An unpack's is laid out as the layer's
  // (layerDiffIn, layerSizeIn) and renamed to it when whole.
  std::string layerUnpacking(std::string_view chainId, std::string_view unique) const;
  std::string layerRemoving(std::string_view chainId, std::string_view unique) const;
  // Whether an entry of layersDir() is scratch, not a layer.
  static bool isLayerScratch(std::string_view name);
  // In a layer's directory, or an unpack's scratch one.
  static std::string layerDiffIn(std::string_view layerDir);
  static std::string layerSizeIn(std::string_view layerDir);

  std::string containersDir() const;
  std::string containerDir(std::string_view id) const;
  std::string containerUpper(std::string_view id) const;
  std::string containerWork(std::string_view id) const;
  std::string containerRootfs(std::string_view id) const;
  std::string containerIdMapped(std::string_view id) const;
  std::string containerIdMappedLayer(std::string_view id, size_t n) const;
  std::string containerImageVolume(std::string_view id, size_t n) const;
  std::string containerVolumeMaps(std::string_view id) const;
  std::string containerVolumeMap(std::string_view id, size_t n) const;
  std::string containerVolumeImages(std::string_view id) const;
  std::string containerVolumeImage(std::string_view id, size_t n) const;

  std::string cniCacheDir() const;
  std::string cniAttachment(std::string_view podId) const;
  std::string importDir() const;

  // <state_dir>
  std::string bundlesDir() const;
  std::string containerBundle(std::string_view id) const;

  std::string podsDir() const;
  std::string podDir(std::string_view podId) const;
  std::string podHostname(std::string_view podId) const;
  std::string podHosts(std::string_view podId) const;
  std::string podResolvConf(std::string_view podId) const;
  std::string podShm(std::string_view podId) const;
  std::string podSysfs(std::string_view podId) const;
  std::string podInfraBundle(std::string_view podId) const;
  std::string podInfraLog(std::string_view podId) const;

  std::string netnsDir() const;
  std::string podNetns(std::string_view podId) const;
  std::string usernsDir() const;
  std::string podUserns(std::string_view podId) const;
  std::string ipcnsDir() const;
  std::string podIpcns(std::string_view podId) const;
  std::string utsnsDir() const;
  std::string podUtsns(std::string_view podId) const;

  std::string exitsDir() const;
  std::string exitFile(std::string_view id) const;
  std::string attachDir() const;
  std::string attachLink(std::string_view id) const;

  std::string execDir() const;
  // The n-th exec's pid file: the container ID's first 12 digits and n.
  std::string execPidFile(std::string_view id, uint64_t n) const;
  static std::string execProcessFile(std::string_view execPidFile);

  std::string runtimesDir() const;
  std::string runtimeRoot(std::string_view handler) const;
  std::string gvisorStartShim() const;

  // In a bundle: a container's, or a pod's infra container's.
  static std::string bundleSpec(std::string_view bundle);
  static std::string bundlePidFile(std::string_view bundle);
  static std::string bundleConmonPidFile(std::string_view bundle);
  static std::string bundleControlFifo(std::string_view bundle);
  static std::string bundleAttachSocket(std::string_view bundle);
  static std::string bundleLog(std::string_view bundle);
  static std::string bundleRunscPidFile(std::string_view bundle);
  static std::string bundleStartOptions(std::string_view bundle);

  bool operator==(const Paths&) const = default;

 private:
  std::string root_, stateDir_;
};

}  // namespace crix
