// crixctl bench: a CRI load generator. It speaks only CRI to a runtime's
// socket, so the same run measures crix, containerd or CRI-O:
//
//   crixctl -r unix:///run/crix/crix.sock bench pod+container --count 50 --concurrency 10
//       --compare unix:///run/containerd/containerd.sock
//
// Scenarios (each iteration is timed per CRI call):
//   pod            RunPodSandbox, StopPodSandbox, RemovePodSandbox
//   pod+container  RunPodSandbox, CreateContainer + StartContainer (`sleep 3600`),
//                  StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox
//   exec           ExecSync `true` in one running container
//   pull           PullImage from `concurrency` clients at once, then RemoveImage
//   list           ListContainers and ListPodSandbox with --containers present
//   churn          keep --pods pods (with a container each), replace --rate a
//                  second for --duration seconds
//
// Everything it creates carries the label crix-bench/run=<run id> and is
// removed at the end, also after SIGINT or SIGTERM (a second one kills).
#pragma once

#include <sys/types.h>

#include <string>

#include <CLI/CLI.hpp>

namespace crix::bench {

struct Options {
  std::string endpoint;         // the runtime under test
  std::string compareEndpoint;  // when set, the same run on this one afterwards
  std::string scenario = "pod+container";
  int count = 10;
  int concurrency = 1;
  // An image both crix and containerd resolve (docker.io/library/busybox),
  // pulled once before timing unless present.
  std::string image = "docker.io/library/busybox:1.29";
  std::string runtimeHandler;
  int containers = 100;       // list: containers present while listing
  int perPod = 1;             // list: containers in each pod
  int pods = 10;              // churn: pods kept alive
  double rate = 2;            // churn: pods replaced a second
  double duration = 30;       // churn: seconds
  int warmup = 1;             // untimed pod+container iterations first
  int64_t bytes = 100 << 20;  // portforward: bytes fetched per iteration
  bool sharedPid = false;     // pods share one PID namespace (a pause container in crix)
  bool userns = false;        // pods get a user namespace of their own
  int stopTimeout = 0;        // StopContainer grace seconds (sleep ignores SIGTERM as pid 1)
  int rpcTimeout = 120;       // seconds for each CRI call
  pid_t pid = 0;              // the daemon's pid; found from the socket when 0
  pid_t comparePid = 0;
  int sampleMs = 200;  // memory sampling interval
  bool json = false;
  std::string logDir;  // parent of the pods' log directories; a temp dir when empty
};

// Adds the `bench` subcommand; `endpoint` is crixctl's global --endpoint.
CLI::App* addBenchCommand(CLI::App& app, Options& opts);

// Runs the scenario (twice with --compare), prints the report on stdout and
// progress on stderr; returns the exit code: 0, 1 when a call failed or
// something was left behind, 2 for bad options, 130 when interrupted.
int runBench(const Options& opts);

}  // namespace crix::bench
