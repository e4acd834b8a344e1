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

(cd build && ctest -L integration --output-on-failure --timeout 300) || status=1
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
