#!/usr/bin/env bash
# Runs every test: installs what is missing, builds with warnings as
# errors, runs the integration tests (the real crixd, conmon, runc and CNI
# plugins), then the unit tests, built under ASan and UBSan,
# and checks formatting and the layering (docs/design-notes.md, "Layers as
# built").
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the integration tests create namespaces and mounts" >&2; exit 1; }

./scripts/install-deps.sh

status=0
# The systemd cgroup driver's test boots a Debian root with systemd in it,
# made once per machine; debootstrap mostly waits on the archive, so it runs
# while the tree compiles. Its log says why when it could not be made (the
# test then skips, saying so).
systemd_root=/var/tmp/crix-systemd-root-1
(./tests/systemd/make-root.sh "$systemd_root" >build-systemd-root.log 2>&1 || echo "make-root.sh failed" >>build-systemd-root.log) &
systemd_root_job=$!

# The main build is what crixd ships as, with line tables instead of full
# debug info (a third less compile time; backtraces keep file and line). The
# unit tests are built and run once, in the Sanitize build below.
./scripts/build.sh build -DCRIX_WERROR=ON -DCRIX_FULL_DEBUG_INFO=OFF -DCRIX_UNIT_TESTS=OFF
echo "test.sh: dependencies and build took ${SECONDS}s"

# The Sanitize build compiles while the integration tests run (they mostly
# wait on processes and timers), niced so that the tests keep the CPU they
# need; its output goes to a log, shown when it fails.
sanitize_log=build-sanitize.log
(
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Sanitize -DCRIX_WERROR=ON -DCRIX_BENCH=OFF -DCRIX_UNIT_TESTS=ON >/dev/null &&
    nice -n 15 cmake --build build-sanitize -j"$(nproc)" --target crix_unit_tests
) >"$sanitize_log" 2>&1 &
sanitize_build=$!

wait "$systemd_root_job" || true
[ -e "$systemd_root/.complete" ] || { echo "test.sh: no systemd root:" >&2; tail -n 5 build-systemd-root.log >&2; }
echo "test.sh: systemd root ready at ${SECONDS}s"
(cd build && CRIX_SYSTEMD_ROOT="$systemd_root" ctest -L integration --output-on-failure --timeout 300) || status=1
echo "test.sh: integration tests done at ${SECONDS}s"

if wait "$sanitize_build"; then
  echo "test.sh: Sanitize build done at ${SECONDS}s"
  (cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure --timeout 300) || status=1
else
  tail -n 60 "$sanitize_log" >&2
  echo "the Sanitize build failed (all of it in $sanitize_log)" >&2
  status=1
fi

if ! git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run -Werror; then
  echo "formatting differs from .clang-format: run clang-format -i on the files above" >&2
  status=1
fi
./scripts/check-layers-test.sh || status=1
./scripts/check-layers.sh || status=1
echo "test.sh: finished in ${SECONDS}s"
exit $status
