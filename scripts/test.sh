#!/usr/bin/env bash
# Runs every test: installs what is missing, builds under ASan and UBSan
# with warnings as errors, runs the unit tests, then the integration tests
# (the real crixd, conmon, runc and CNI plugins), and checks formatting and
# the layering (docs/design-notes.md, "Layers as built").
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

# One build, the Sanitize one (ASan and UBSan at -O0): crixd, crixctl and
# both suites, so that the sanitizers watch crixd under the integration
# tests as well as the unit tests, and the tree compiles once.
# scripts/run.sh builds what crixd ships as (RelWithDebInfo).
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Sanitize -DCRIX_WERROR=ON -DCRIX_BENCH=OFF -DCRIX_UNIT_TESTS=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)"
echo "test.sh: dependencies and build took ${SECONDS}s"

(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure --timeout 300) || status=1
echo "test.sh: unit tests done at ${SECONDS}s"

wait "$systemd_root_job" || true
[ -e "$systemd_root/.complete" ] || { echo "test.sh: no systemd root:" >&2; tail -n 5 build-systemd-root.log >&2; }
echo "test.sh: systemd root ready at ${SECONDS}s"
(cd build-sanitize && CRIX_SYSTEMD_ROOT="$systemd_root" ASAN_OPTIONS=detect_leaks=1 \
  ctest -L integration --output-on-failure --timeout 300) || status=1
echo "test.sh: integration tests done at ${SECONDS}s"

if ! git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run -Werror; then
  echo "formatting differs from .clang-format: run clang-format -i on the files above" >&2
  status=1
fi
./scripts/check-layers-test.sh || status=1
./scripts/check-layers.sh || status=1
echo "test.sh: finished in ${SECONDS}s"
exit $status
