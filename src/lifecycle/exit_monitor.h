// ExitMonitor: conmon writes `<state_dir>/exits/<id>` when a container
// ends; this watches that directory with inotify and reports each id at
// once, so exits are recorded (and events sent) within milliseconds without
// polling. Queries still read exit files too, so nothing depends on the
// monitor having run (e.g. exits while crixd was down).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/error.h"
#include "sys/unique_fd.h"

namespace crix::lifecycle {

class ExitMonitor {
 public:
  // `onExit(id)` for each exit file written; `onExit("")` when the kernel
  // dropped events, so that every container is checked.
  static Result<std::unique_ptr<ExitMonitor>> start(const std::string& dir,
                                                    std::function<void(const std::string& id)> onExit);
  ~ExitMonitor();

 private:
  ExitMonitor() = default;
  void run();

  sys::UniqueFd inotify_, wakeRead_, wakeWrite_;
  std::function<void(const std::string&)> onExit_;
  std::thread thread_;
};

}  // namespace crix::lifecycle
