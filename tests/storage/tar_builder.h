// TarBuilder: writes tar streams with exactly the entries a test wants,
// including ones no honest tool would produce.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <string>

namespace crix::test {

class TarBuilder {
 public:
  // filter: "", "gzip" or "zstd"
  explicit TarBuilder(const std::string& filter = "") : a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    if (filter == "gzip") archive_write_add_filter_gzip(a_);
    if (filter == "zstd") archive_write_add_filter_zstd(a_);
    archive_write_set_bytes_in_last_block(a_, 1);  // no padding after the compressed stream
    archive_write_open(a_, &out_, nullptr, onWrite, nullptr);
  }
  ~TarBuilder() { archive_write_free(a_); }

  TarBuilder& file(const std::string& name, const std::string& content, mode_t mode = 0644, int uid = 0, int gid = 0) {
    auto* e = entry(name, AE_IFREG, mode, uid, gid);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_write_header(a_, e);
    archive_write_data(a_, content.data(), content.size());
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& dir(const std::string& name, mode_t mode = 0755) { return simple(name, AE_IFDIR, mode); }
  TarBuilder& symlink(const std::string& name, const std::string& target) {
    auto* e = entry(name, AE_IFLNK, 0777, 0, 0);
    archive_entry_set_symlink(e, target.c_str());
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& hardlink(const std::string& name, const std::string& target) {
    auto* e = entry(name, AE_IFREG, 0644, 0, 0);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& fifo(const std::string& name) { return simple(name, AE_IFIFO, 0600); }
  TarBuilder& chardev(const std::string& name, int major, int minor) {
    auto* e = entry(name, AE_IFCHR, 0600, 0, 0);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  std::string finish() {
    archive_write_close(a_);
    return out_;
  }

 private:
  static la_ssize_t onWrite(archive*, void* data, const void* buf, size_t n) {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  archive_entry* entry(const std::string& name, unsigned type, mode_t mode, int uid, int gid) {
    auto* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, 1000000, 0);
    return e;
  }
  TarBuilder& simple(const std::string& name, unsigned type, mode_t mode) {
    auto* e = entry(name, type, mode, 0, 0);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  archive* a_;
  std::string out_;
};

}  // namespace crix::test
