// The driver for gVisor's runsc. The pod's infra container is the sandbox:
// conmon runs `runsc create` for it as for runc, and reaps the sandbox.
// The pod's other containers live inside that sandbox, where conmon cannot
// see them: runsc reports the sandbox's pid for each, and a subcontainer's
// stdio is that of `runsc start`. So for them:
//
//   CreateContainer  crixd runs `runsc create` (the container is made, nothing runs)
//   StartContainer   conmon runs <state_dir>/gvisor-start as its "runtime":
//                      runsc start <id>  (with conmon's pipes: logs, attach)
//                      then a waiter `runsc wait <id>` that exits with the
//                      container's status; conmon reaps it → exit file
//
// Everything else (kill, delete, state, exec) is runsc's CLI as for runc.
#pragma once

#include <memory>

#include "oci/runtime.h"

namespace crix::oci {

// Writes the start shim (<state_dir>/gvisor-start) and returns the driver.
Result<std::unique_ptr<OciRuntime>> makeGvisorRuntime(RuntimeConfig cfg);

// The start shim's text (a bash script): called as conmon calls a runtime,
//   gvisor-start --crix-runsc=RUNSC [runsc flags...] create --bundle B --pid-file P ID
// it runs `RUNSC [runsc flags...] start ID` and leaves the waiter's pid in P.
const char* gvisorStartShim();

}  // namespace crix::oci
