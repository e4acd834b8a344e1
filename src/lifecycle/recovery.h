// Start-up recovery outside the records: what a killed crixd leaves that no
// row owns is found under crix's own roots and removed, one log line per
// object. Runs before the socket is served, after PodManager::recover().
//
//   stray helpers    (first, before loading) runc with crix's --root, CNI plugins on a pod
//                    of crix's CNI cache (started by the dead crixd) → SIGKILL
// then, in this order:
//   runtime state    <runtime root>/<id>                → runtime delete --force
//   monitors         conmon with --exit-dir <state_dir>/exits and an unknown -c
//                    → a second to exit after reaping, then SIGKILL
//   CNI attachments  <root>/cni/<id>.json of no ready pod   → CNI DEL from the cache
//   netns pins       <state_dir>/netns/<id> of no ready pod → unpin, remove
//   mounts           any mount point under the roots naming an unknown id → unmount
//   cgroups          <hierarchy>/crix/crix-<id> of an id found above → kill, rmdir
//   root filesystems <root>/containers/<id>             → unmount, remove
//   bundles          <state_dir>/containers/<id>, <state_dir>/pods/<id> (shm unmounted)
//   leftovers        <state_dir>/exits/<id>, <state_dir>/attach/<id>, exec pid
//                    files, temp files of atomic writes
//
// Cgroups carry no owner: another runtime (or another crixd) may use the
// same prefix, so only ids that crix's own directories name are swept.
#pragma once

#include <set>
#include <string>

#include "config/config.h"
#include "lifecycle/infra.h"
#include "network/cni.h"

namespace crix::lifecycle {

struct KnownObjects {
  std::set<std::string> pods;        // every pod row
  std::set<std::string> networked;   // ready pods with their own network namespace
  std::set<std::string> containers;  // every container row
};

// Kills helpers that the previous crixd started and that outlived it, so
// that none races with recovery. Returns how many.
int killStrayHelpers(const config::Config& cfg);

// Removes every orphan; returns how many objects went.
int sweepOrphans(const config::Config& cfg, network::NetworkPlugin& net, Runtimes& runtimes, const KnownObjects& known);

}  // namespace crix::lifecycle
