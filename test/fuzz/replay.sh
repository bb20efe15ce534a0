#!/usr/bin/env bash
# Replays fuzz inputs through a replay binary (no libFuzzer; see
# tools/effc-fuzz/replay-main.cpp): every file must run without a
# crash, abort or sanitizer report.
#   test/fuzz/replay.sh REPLAY_BIN CORPUS_DIR [EXTRA_FILE...]
# An empty or missing corpus fails: a replay of nothing checks nothing.
set -euo pipefail
bin=$1; corpus=$2; shift 2
[ -x "$bin" ] || { echo "replay.sh: $bin is not built" >&2; exit 1; }
files=()
for f in "$corpus"/* "$@"; do
  [ -f "$f" ] || { echo "replay.sh: $f is missing" >&2; exit 1; }
  files+=("$f")
done
(( ${#files[@]} > 1 )) || { echo "replay.sh: no inputs in $corpus" >&2; exit 1; }
"$bin" "${files[@]}" > /dev/null
echo "replay.sh: ${#files[@]} inputs ran through $(basename "$bin") without a crash"
