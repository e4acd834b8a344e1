#include "storage/layer_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <set>

#include "common/log.h"
#include "common/parse.h"
#include "common/sha256.h"
#include "sys/fs.h"
#include "sys/unique_fd.h"

namespace crix::storage {

namespace fs = std::filesystem;

DiskUsage diskUsage(const std::string& path) {
  DiskUsage u;
  // A file with several names takes its space once (a busybox image is one
  // binary with hundreds of links).
  std::set<std::pair<dev_t, ino_t>> linked;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked.insert({st.st_dev, st.st_ino}).second) continue;
    u.bytes += static_cast<int64_t>(st.st_blocks) * 512;
    u.inodes += 1;
  }
  return u;
}

Result<std::unique_ptr<LayerStore>> LayerStore::open(Paths paths, int64_t maxLayerBytes, UnpackOptions opts) {
  TRY(sys::mkdirAll(paths.layersDir(), 0700));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths.layersDir(), ec)) {
    if (Paths::isLayerScratch(e.path().filename().string())) {
      log::info("removing interrupted layer unpack", {{"path", e.path().string()}});
      fs::remove_all(e.path(), ec);
    }
  }
  return std::unique_ptr<LayerStore>(new LayerStore(std::move(paths), maxLayerBytes, opts));
}

std::string LayerStore::diffPath(const std::string& chainId) const {
  return paths_.layerDiff(chainId);
}

bool LayerStore::has(const std::string& chainId) const {
  struct stat st {};
  return ::stat(diffPath(chainId).c_str(), &st) == 0;
}

int64_t LayerStore::recordedSize(const std::string& chainId) const {
  // Written by apply() with std::to_string; anything else counts as unknown.
  auto text = sys::readFile(paths_.layerSize(chainId));
  if (!text) return 0;
  return parseNumber<int64_t>(*text).value_or(0);
}

Result<LayerStore::Applied> LayerStore::apply(const std::string& chainId, const std::string& diffId,
                                              const std::string& blobPath, Compression compression) {
  std::string final = paths_.layerDir(chainId);
  if (has(chainId)) return Applied{recordedSize(chainId), 0};
  static std::atomic<uint64_t> counter{0};
  std::string tmp = paths_.layerUnpacking(chainId, std::to_string(::getpid()) + "-" + std::to_string(counter++));
  const std::string diff = Paths::layerDiffIn(tmp);
  struct Cleanup {
    std::string path;
    bool keep = false;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) fs::remove_all(path, ec);
    }
  } cleanup{tmp};
  TRY(sys::mkdirAll(diff, 0755));
  sys::UniqueFd root(::open(diff.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return failErrno("open " + tmp, errno);

  auto stream = TRY(LayerStream::open(blobPath, compression, max_));
  TRY_CTX(unpackLayer(root.get(), *stream, opts_), "unpack layer " + chainId);
  std::string got = TRY(stream->finish());
  if (got != diffId)
    return fail(Code::InvalidArgument,
                "layer " + chainId + " does not match its diff ID: expected " + diffId + ", got " + got);
  Applied applied{diskUsage(diff).bytes, stream->total()};
  TRY(sys::writeFileAtomic(Paths::layerSizeIn(tmp), std::to_string(applied.size)));
  // The unpacked files must be on disk before the rename makes them a layer.
  ::syncfs(root.get());
  if (::rename(tmp.c_str(), final.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) return applied;  // another pull won the race
    return failErrno("commit layer " + chainId, errno);
  }
  cleanup.keep = true;
  return applied;
}

Result<> LayerStore::remove(const std::string& chainId) {
  std::string path = paths_.layerDir(chainId);
  // The rename makes the layer gone at once; the files go in the
  // background (a big layer takes seconds), and a crash mid-delete leaves
  // a tmp- directory that the next start-up sweeps.
  static std::atomic<uint64_t> counter{0};
  std::string doomed = paths_.layerRemoving(chainId, std::to_string(counter++));
  if (::rename(path.c_str(), doomed.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return failErrno("remove layer " + chainId, errno);
  }
  deletions_.start([doomed] {
    std::error_code ec;
    fs::remove_all(doomed, ec);
    if (ec) log::warn("cannot delete removed layer", {{"path", doomed}, {"error", ec.message()}});
  });
  return {};
}

int LayerStore::sweep(const std::set<std::string>& keep) {
  std::set<std::string> keepHex;
  for (const auto& k : keep) keepHex.insert(std::string(hexOf(k)));
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.layersDir(), ec)) {
    std::string name = e.path().filename().string();
    if (Paths::isLayerScratch(name) || keepHex.count(name)) continue;
    log::info("removing layer no image records", {{"layer", name}});
    if (remove("sha256:" + name)) ++removed;
  }
  return removed;
}

int64_t LayerStore::usage() const {
  return diskUsage(paths_.layersDir()).bytes;
}

}  // namespace crix::storage
