#!/usr/bin/env bash
# shellcheck disable=SC2016 # backticks in the sed expressions below are markdown
# Tests scripts/check-layers.sh on small fake trees in a temp dir: a tree
# that keeps its table passes; each wrong include, or a table that does not
# cover src/, fails and names the file and line.
set -euo pipefail
check="$(cd "$(dirname "$0")" && pwd)/check-layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
n=0

# A tree with three layers: app uses sys and proto, sys uses common. A
# second table in another section must not count as the rule.
tree() {
  local t=$tmp/$1
  mkdir -p "$t/docs" "$t/src/common" "$t/src/sys" "$t/src/app/sub"
  cat >"$t/docs/design-notes.md" <<'EOF'
# Design notes

## Layers as built

| folder | uses |
|---|---|
| `common/` | — (Result, logging) |
| `sys/` | common (fds, mounts, with commas (and nesting)) |
| `app/` | sys, proto |

## Paths as built

| path | holds |
|---|---|
| `app/` | everything |
EOF
  printf '#pragma once\n' >"$t/src/common/error.h"
  printf '#pragma once\n#include <string>\n#include "common/error.h"\n' >"$t/src/sys/fd.h"
  printf '#include "sys/fd.h"\n\n#include <sys/socket.h>\n' >"$t/src/sys/fd.cc"
  printf '#pragma once\n#include "sys/fd.h"\n' >"$t/src/app/app.h"
  cat >"$t/src/app/app.cc" <<'EOF'
#include "app/app.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "app.h"
#include "crix/proto/api.pb.h"
#include "nlohmann/json.hpp"
#  include "sys/fd.h"  // indented directive
// #include "common/error.h" is only a comment
EOF
  printf '#include "app/app.h"\n' >"$t/src/app/sub/part.cc"
  echo "$t"
}

# expect_pass NAME ROOT / expect_fail NAME ROOT RC NEEDLE...: run the check
# on ROOT and compare the exit code and the output.
report() {
  n=$((n + 1))
  if [ -n "$2" ]; then
    echo "FAIL $1: $2" >&2
    printf '%s\n' "$out" | sed 's/^/  | /' >&2
    failed=1
  fi
}
expect_pass() {
  local rc why=""
  out=$("$check" "$2" 2>&1) && rc=0 || rc=$?
  [ "$rc" = 0 ] || why="exit $rc, want 0"
  [ -n "$why" ] || grep -q '^check-layers: OK' <<<"$out" || why="no OK line"
  report "$1" "$why"
}
expect_fail() {
  local name=$1 root=$2 want=$3 rc why=""
  shift 3
  out=$("$check" "$root" 2>&1) && rc=0 || rc=$?
  [ "$rc" = "$want" ] || why="exit $rc, want $want"
  for needle in "$@"; do
    [ -n "$why" ] || grep -qF -- "$needle" <<<"$out" || why="output lacks: $needle"
  done
  report "$name" "$why"
}

t=$(tree ok)
expect_pass "a tree that keeps its table" "$t"

t=$(tree transitive)
printf '#include "app/app.h"\n\n#include "common/error.h"\n' >"$t/src/app/sub/part.cc"
expect_fail "a use allowed only through another layer" "$t" 1 \
  "src/app/sub/part.cc:3: app may not include common/error.h (app uses: sys, proto)"

t=$(tree upward)
printf '#include "sys/fd.h"\n#include "app/app.h"\n' >"$t/src/sys/fd.cc"
expect_fail "a lower layer including a higher one" "$t" 1 \
  "src/sys/fd.cc:2: sys may not include app/app.h (sys uses: common)"

t=$(tree proto)
printf '#pragma once\n#include "crix/proto/api.grpc.pb.h"\n' >"$t/src/common/error.h"
expect_fail "the protocol outside the layers that use it" "$t" 1 \
  "src/common/error.h:2: common may not include crix/proto/api.grpc.pb.h (common uses: nothing)"

t=$(tree relative)
printf '#include "../sys/fd.h"\n' >"$t/src/app/sub/part.cc"
expect_fail "a relative include" "$t" 1 "src/app/sub/part.cc:1: app includes \"../sys/fd.h\" by a relative path"

t=$(tree count)
printf '#include "app/app.h"\n#include "common/error.h"\n' >"$t/src/app/sub/part.cc"
printf '#include "app/app.h"\n' >"$t/src/sys/fd.cc"
expect_fail "every violation reported, and counted" "$t" 1 \
  "src/app/sub/part.cc:2: app may not include common/error.h" \
  "src/sys/fd.cc:1: sys may not include app/app.h" \
  "check-layers: 2 problems"

t=$(tree everything)
sed -i 's/^| `app\/` | sys, proto |$/| `app\/` | everything (composition root) |/' "$t/docs/design-notes.md"
printf '#include "common/error.h"\n' >"$t/src/app/sub/part.cc"
expect_pass "everything allows any layer" "$t"

t=$(tree norow)
mkdir "$t/src/extra"
printf '#include "common/error.h"\n' >"$t/src/extra/x.cc"
expect_fail "a layer without a row" "$t" 1 "src/extra/: no row"

t=$(tree stale)
sed -i 's/^| `app\/` | sys, proto |$/&\n| `gone\/` | common |/' "$t/docs/design-notes.md"
expect_fail "a row for no folder" "$t" 1 "docs/design-notes.md:10: the row for gone/ names no folder under src/"

t=$(tree typo)
sed -i 's/^| `app\/` | sys, proto |$/| `app\/` | sys, proto, sytem |/' "$t/docs/design-notes.md"
expect_fail "a use that names no layer" "$t" 1 "docs/design-notes.md:9: app/ uses \"sytem\", which is no layer"

t=$(tree notable)
sed -i 's/^## Layers as built$/## Layers/' "$t/docs/design-notes.md"
expect_fail "no table" "$t" 2 'no "Layers as built" table'

expect_fail "no repo" "$tmp/absent" 2 "no directory"

if [ "$failed" = 0 ]; then
  echo "check-layers-test: OK, $n cases"
fi
exit $failed
