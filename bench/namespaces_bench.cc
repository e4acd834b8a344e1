// What pinning a pod's namespaces costs RunPodSandbox: a network namespace
// (as before) against the IPC and UTS pair every pod now gets, each pinned
// in a temp dir (the unpin, StopPodSandbox's, is left out). Needs root.
//
//   crix_namespaces_bench [--benchmark_min_time=2]
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "network/netns.h"
#include "sys/namespaces.h"

namespace {

std::string scratch() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/crix-ns-bench-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    return std::string(made ? made : "/tmp");
  }();
  return dir;
}

void BM_PinNetns(benchmark::State& state) {
  std::string path = scratch() + "/net";
  for (auto _ : state) {
    if (!crix::network::createNetns(path)) state.SkipWithError("createNetns failed (root?)");
    state.PauseTiming();  // RunPodSandbox pays the pin; StopPodSandbox the unpin
    (void)crix::network::removeNetns(path);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_PinNetns)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_PinIpcUts(benchmark::State& state) {
  std::string ipc = scratch() + "/ipc", uts = scratch() + "/uts";
  for (auto _ : state) {
    if (!crix::sys::createIpcUts(ipc, uts, "pod-hostname")) state.SkipWithError("createIpcUts failed (root?)");
    state.PauseTiming();
    (void)crix::sys::unpinNamespace(ipc);
    (void)crix::sys::unpinNamespace(uts);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_PinIpcUts)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
