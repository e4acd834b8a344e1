#include "lifecycle/exit_monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "sys/fs.h"

namespace crix::lifecycle {

Result<std::unique_ptr<ExitMonitor>> ExitMonitor::start(const std::string& dir,
                                                        std::function<void(const std::string&)> onExit) {
  TRY(sys::mkdirAll(dir, 0700));
  std::unique_ptr<ExitMonitor> m(new ExitMonitor);
  m->onExit_ = std::move(onExit);
  m->inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!m->inotify_.valid()) return failErrno("inotify_init1", errno);
  // conmon writes a temporary file and renames it into place.
  if (::inotify_add_watch(m->inotify_.get(), dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    return failErrno("watch " + dir, errno);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return failErrno("pipe", errno);
  m->wakeRead_.reset(wake[0]);
  m->wakeWrite_.reset(wake[1]);
  m->thread_ = std::thread([raw = m.get()] { raw->run(); });
  return m;
}

ExitMonitor::~ExitMonitor() {
  (void)::write(wakeWrite_.get(), "x", 1);
  if (thread_.joinable()) thread_.join();
}

void ExitMonitor::run() {
  alignas(inotify_event) char buf[16 << 10];
  for (;;) {
    pollfd p[2] = {{inotify_.get(), POLLIN, 0}, {wakeRead_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::error("exit monitor stopped", {{"error", std::strerror(errno)}});
      return;
    }
    if (p[1].revents) return;
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) continue;
    for (char* at = buf; at < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(at);
      at += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        log::warn("exit monitor missed events; reading every container's exit file");
        onExit_("");
      }
      if (ev->len > 0 && ev->name[0] != '.') onExit_(ev->name);
    }
  }
}

}  // namespace crix::lifecycle
