#include "image/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>

#include "common/log.h"
#include "image/reference.h"
#include "sys/fs.h"

namespace crix::image {

namespace fs = std::filesystem;

Result<std::unique_ptr<ContentStore>> ContentStore::open(Paths paths) {
  TRY(sys::mkdirAll(paths.contentBlobsDir(), 0700));
  TRY(sys::mkdirAll(paths.contentIngestDir(), 0700));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths.contentIngestDir(), ec)) {
    log::info("removing interrupted blob write", {{"path", e.path().string()}});
    fs::remove_all(e.path(), ec);
  }
  return std::unique_ptr<ContentStore>(new ContentStore(std::move(paths)));
}

std::string ContentStore::path(const std::string& digest) const {
  return paths_.contentBlob(digest);
}

bool ContentStore::has(const std::string& digest) const {
  struct stat st {};
  return isValidDigest(digest) && ::stat(path(digest).c_str(), &st) == 0;
}

Result<std::string> ContentStore::read(const std::string& digest) const {
  if (!isValidDigest(digest)) return fail(Code::InvalidArgument, "invalid digest \"" + digest + "\"");
  return sys::readFile(path(digest));
}

Result<> ContentStore::remove(const std::string& digest) {
  if (!isValidDigest(digest)) return fail(Code::InvalidArgument, "invalid digest \"" + digest + "\"");
  if (::unlink(path(digest).c_str()) != 0 && errno != ENOENT) return failErrno("remove blob " + digest, errno);
  return {};
}

int64_t ContentStore::usage() const {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.contentBlobsDir(), ec)) {
    struct stat st {};
    if (::stat(e.path().c_str(), &st) == 0) total += static_cast<int64_t>(st.st_blocks) * 512;
  }
  return total;
}

Result<std::unique_ptr<ContentStore::Writer>> ContentStore::writer(const std::string& digest, int64_t size) {
  if (!isValidDigest(digest)) return fail(Code::InvalidArgument, "invalid digest \"" + digest + "\"");
  static std::atomic<uint64_t> counter{0};
  std::string tmp = paths_.contentIngest(std::string(hexOf(digest)).substr(0, 16) + "-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter++));
  sys::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return failErrno("create " + tmp, errno);
  return std::unique_ptr<Writer>(new Writer(tmp, path(digest), digest, size, std::move(fd)));
}

ContentStore::Writer::~Writer() {
  if (!committed_) ::unlink(tmp_.c_str());
}

Result<> ContentStore::Writer::write(const char* data, size_t n) {
  if (size_ >= 0 && written_ + static_cast<int64_t>(n) > size_)
    return fail(Code::InvalidArgument,
                "blob " + digest_ + " is larger than its descriptor's " + std::to_string(size_) + " bytes");
  hash_.update(data, n);
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd_.get(), data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return failErrno("write " + tmp_, errno);
    done += static_cast<size_t>(w);
  }
  written_ += static_cast<int64_t>(n);
  return {};
}

Result<> ContentStore::Writer::commit() {
  if (size_ >= 0 && written_ != size_)
    return fail(Code::InvalidArgument, "blob " + digest_ + " has " + std::to_string(written_) +
                                           " bytes, its descriptor says " + std::to_string(size_));
  std::string got = hash_.digest();
  if (got != digest_) return fail(Code::InvalidArgument, "blob digest mismatch: expected " + digest_ + ", got " + got);
  if (::fsync(fd_.get()) != 0) return failErrno("fsync " + tmp_, errno);
  fd_.reset();
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) return failErrno("commit blob " + digest_, errno);
  committed_ = true;
  return {};
}

Result<> ContentStore::put(const std::string& digest, std::string_view data) {
  if (has(digest)) return {};
  auto w = TRY(writer(digest, static_cast<int64_t>(data.size())));
  TRY(w->write(data.data(), data.size()));
  return w->commit();
}

}  // namespace crix::image
