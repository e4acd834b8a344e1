// TestRegistry: Debian's docker-registry on 127.0.0.1 and a free port,
// holding the images tests/images/push-test-images.sh builds. Started once
// per test process and stopped at exit; the pushed storage is built once per
// machine (under /var/tmp, named after the script) and only served after.
#pragma once

#include <string>

namespace crix::test {

class TestRegistry {
 public:
  // The shared instance; fails the calling test if it cannot start.
  static TestRegistry& get();

  const std::string& host() const { return host_; }  // "127.0.0.1:PORT"
  std::string ref(const std::string& image) const { return host_ + "/" + image; }
  // TOML that makes crixd pull from it over plain HTTP.
  std::string configToml() const;
  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }

  ~TestRegistry();

 private:
  TestRegistry();
  std::string dir_, host_, error_;
  int pid_ = -1;
};

// A TCP port on 127.0.0.1 that nobody listens on right now.
int freePort();

}  // namespace crix::test
