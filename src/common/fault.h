// Fault points for recovery and rollback tests, off unless the environment
// variable CRIX_FAULT names one (it is read once):
//
//   CRIX_FAULT=<point>        crixd kills itself there (SIGKILL, no clean-up)
//   CRIX_FAULT=fail:<point>   the first arrival there fails the operation
//                             (INTERNAL, "fault injected at <point>"), as a
//                             failing step would; later arrivals pass
//   CRIX_FAULT=delay:<point>:<ms>  the first arrival there sleeps <ms> ms
//                             (a slow step, for retry and deadline tests)
//
// Every point, in the order its operation reaches it (faultPoints() lists
// them for tests; a name not listed there is a bug):
//
//   PullImage        pull-before-commit        layers unpacked, image row not written
//   RunPodSandbox    pod-after-intent          row "creating" written, nothing on the host
//                    pod-after-netns           netns pinned
//                    pod-after-cni             CNI ADD done (veth, IP lease)
//                    pod-after-files           pod files written, shm mounted
//                    pod-after-infra-rootfs    infra rootfs mounted (pods with an infra container)
//                    pod-after-infra-create    conmon + runtime create done
//                    pod-after-infra           infra container started
//                    pod-after-persist         row "ready" written, reply not sent
//   CreateContainer  ctr-after-intent          row "creating" written
//                    ctr-after-rootfs          overlay mounted
//                    ctr-after-bundle          config.json written
//                    ctr-after-runtime-create  conmon + runtime create done
//                    ctr-after-persist         row "created" written, reply not sent
//   StartContainer   start-after-runtime       runtime start done, row still "created"
//                    start-after-persist       row "running" written, reply not sent
//   StopPodSandbox   stop-after-intent         containers stopped, row "stopping" written
//                    stop-after-infra          infra container killed and deleted
//                    stop-after-cni            CNI DEL done
//                    stop-after-netns          netns unpinned
//                    stop-after-persist        row "notready" written, reply not sent
#pragma once

#include <string_view>
#include <vector>

#include "common/error.h"

namespace crix {

Result<> faultPoint(std::string_view step);

// The points above, in that order.
const std::vector<std::string_view>& faultPoints();

}  // namespace crix
