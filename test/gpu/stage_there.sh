#!/usr/bin/env bash
# Prebuilt cases staged on the GPU machine itself: the artifacts of many cases
# outgrow what travels (64 MiB), while effc (static) and the ONNX files they
# come from fit. Stages every CASES file in parallel (test/gpu/prebuilt.py,
# cubins for ARCH), then runs them one file after another on the cuda backend
# and prints each file's table; exit 1 when any case fails.
#
#   test/gpu/stage_there.sh BIN_DIR SHARED_DIR ARCH CASES...
#     BIN_DIR     holds effc and effc-run (e.g. a folder carried with the call)
#     SHARED_DIR  holds the models the cases name (a carried subset of ../shared)
# Example (from the repo root, in one device call):
#   test/gpu/stage_there.sh .gpu-s/bin .gpu-s/shared sm_90 test/gpu/cases/dims.txt ...
set -uo pipefail
bin=$1 shared=$2 arch=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
work=${EFFC_STAGE_DIR:-/tmp/effc-stage}
rm -rf "$work" && mkdir -p "$work"
start=$SECONDS
pids=()
for cases in "$@"; do
  name=$(basename "$cases" .txt)
  python3 "$here/prebuilt.py" stage "$work/$name" "$cases" --arch "$arch" --bin "$bin" \
    --shared "$shared" > "$work/$name.stage.log" 2>&1 &
  pids+=($!)
done
status=0
i=0
for cases in "$@"; do
  name=$(basename "$cases" .txt)
  if ! wait "${pids[$i]}"; then
    echo "stage_there: staging $cases failed:" && tail -20 "$work/$name.stage.log"
    status=1
  fi
  i=$((i + 1))
done
echo "stage_there: staged $# case files in $((SECONDS - start)) s"
summary=()
for cases in "$@"; do
  name=$(basename "$cases" .txt)
  [ -f "$work/$name/cases.txt" ] || continue
  python3 "$work/$name/prebuilt.py" run "$work/$name" > "$work/$name.run.log" 2>&1 || status=1
  # the table is everything after the '=== prebuilt checks' line
  sed -n '/^=== prebuilt checks/,$p' "$work/$name.run.log"
  summary+=("$name: $(tail -1 "$work/$name.run.log")")
  [ -n "${OUT:-}" ] && cp "$work/$name.run.log" "$OUT/" 2>/dev/null
done
echo "=== stage_there summary ($arch)"
printf '%s\n' "${summary[@]}"
exit $status
