// StreamProcess implementations: `runc exec` in the foreground for exec,
// conmon's attach socket for attach.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "oci/runtime.h"

namespace crix::oci {

// Runs `<runtime> --root=<root> exec [--tty] --pid-file <pidFile> <id> args`
// as crixd's child. Without a terminal the process gets pipes. With one,
// runc gets a pseudo-terminal of crixd's as its controlling terminal: runc
// relays it to the container's own terminal and passes a resize on (it
// follows SIGWINCH, which the kernel sends when the size here changes).
// `runtime` is the runtime's command line up to its subcommand (binary,
// --root and the handler's global flags).
Result<std::unique_ptr<StreamProcess>> startExec(const std::vector<std::string>& runtime, const std::string& pidFile,
                                                 const std::string& id, const std::vector<std::string>& args,
                                                 const ExecStreamOptions& opts);

// Connects to conmon's attach socket, which conmon makes in the bundle.
// Packets from conmon start with its pipe number (2 stdout, 3 stderr); what is
// sent goes to the container's stdin. A resize goes through the bundle's
// control fifo.
Result<std::unique_ptr<StreamProcess>> connectAttach(const std::string& bundle);

}  // namespace crix::oci
