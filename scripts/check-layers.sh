#!/usr/bin/env bash
# Checks the layering: every #include "x/..." in src/<layer>/ (subfolders
# too) names the layer itself or a layer that the "Layers as built" table in
# docs/design-notes.md says it uses. Only direct uses count: a layer that
# wants common must say so even if it uses sys. Anything whose first path
# component is not a folder of src/ (<sys/socket.h>, "nlohmann/json.hpp") is
# a system or third-party header; "crix/proto/..." is the generated protocol,
# named "proto" in the table.
#
# Usage: scripts/check-layers.sh [REPO_ROOT]   (default: the repo it lives in)
# Exits 0 when the tree keeps the table, 1 on a violation or a table that
# does not cover src/, 2 when there is nothing to check.
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
notes=docs/design-notes.md
cd "$root" 2>/dev/null || { echo "check-layers: no directory $root" >&2; exit 2; }
[ -f "$notes" ] || { echo "check-layers: no $notes under $root" >&2; exit 2; }
[ -d src ] || { echo "check-layers: no src/ under $root" >&2; exit 2; }

layers=$(find src -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')

# path:line:text of every quoted include, in file and line order.
includes() {
  grep -rnHE --include='*.h' --include='*.cc' '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' src ||
    [ $? = 1 ]
}

includes | LC_ALL=C sort -t: -k1,1 -k2,2n | LC_ALL=C awk -v layers="$layers" -v notes="$notes" '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function fail(msg) { print msg > "/dev/stderr"; failures++ }

BEGIN {
  nlayers = split(layers, L, " ")
  for (i = 1; i <= nlayers; i++) isLayer[L[i]] = 1
}

# The table: rows "| `folder/` | uses |" between "## Layers as built" and
# the next heading.
FILENAME == notes {
  sub(/\r$/, "")
  if ($0 ~ /^#+[ \t]/) { inTable = ($0 ~ /^##[ \t]+Layers as built[ \t]*$/); next }
  if (!inTable || $0 !~ /^\|[ \t]*`[^`]*`[ \t]*\|/) next
  split($0, cell, "|")
  folder = trim(cell[2]); gsub(/`/, "", folder); sub(/\/$/, "", folder)
  where = notes ":" FNR
  if (folder in hasRow) { fail(where ": a second row for " folder "/"); next }
  hasRow[folder] = 1; rows++
  if (!(folder in isLayer)) fail(where ": the row for " folder "/ names no folder under src/")
  uses = cell[3]
  while (gsub(/\([^()]*\)/, "", uses)) {}  # commentary, nested or not
  n = split(uses, tok, ",")
  shown = ""
  for (i = 1; i <= n; i++) {
    t = trim(tok[i]); gsub(/`/, "", t); sub(/\/$/, "", t)
    if (t == "" || t == "—" || t == "-" || t == "none") continue
    if (t == "everything" || t == "all") { any[folder] = 1; t = "everything" }
    else if (t in isLayer || t == "proto") allowed[folder, t] = 1
    else { fail(where ": " folder "/ uses \"" t "\", which is no layer (a folder of src/, proto, everything or —)"); continue }
    shown = shown (shown == "" ? "" : ", ") t
  }
  usesText[folder] = (shown == "" ? "nothing" : shown)
  next
}

# The includes.
{
  p = index($0, ":"); file = substr($0, 1, p - 1); rest = substr($0, p + 1)
  p = index(rest, ":"); line = substr(rest, 1, p - 1); text = substr(rest, p + 1)
  if (split(file, part, "/") < 3) next  # not inside a layer folder
  layer = part[2]
  if (!(layer in hasRow)) next          # reported below, once per layer
  if (!match(text, /"[^"]*"/)) next
  inc = substr(text, RSTART + 1, RLENGTH - 2)
  checked++
  if (inc ~ /(^|\/)\.\.(\/|$)/) {
    fail(file ":" line ": " layer " includes \"" inc "\" by a relative path: name it from src/ (\"<layer>/<file>\")")
    next
  }
  if (inc ~ /^crix\/proto\//) target = "proto"
  else if (index(inc, "/")) target = substr(inc, 1, index(inc, "/") - 1)
  else next                             # a header beside the file: its own layer
  if (!(target in isLayer) && target != "proto") next  # system or third-party
  if (target == layer || (layer in any) || ((layer, target) in allowed)) next
  fail(file ":" line ": " layer " may not include " inc " (" layer " uses: " usesText[layer] ")")
}

END {
  if (rows == 0) {
    print "check-layers: no \"Layers as built\" table with rows | `folder/` | uses | in " notes > "/dev/stderr"
    exit 2
  }
  for (i = 1; i <= nlayers; i++)
    if (!(L[i] in hasRow)) fail("src/" L[i] "/: no row in the \"Layers as built\" table of " notes " (add | `" L[i] "/` | <layers it uses> |)")
  if (failures) {
    printf "check-layers: %d problem%s: fix the include or, if the use is intended, the table in %s\n",
      failures, (failures == 1 ? "" : "s"), notes > "/dev/stderr"
    exit 1
  }
  printf "check-layers: OK, %d layers, %d includes checked against %s\n", nlayers, checked, notes
}
' "$notes" -
