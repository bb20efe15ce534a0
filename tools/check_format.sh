#!/usr/bin/env bash
# Fails when clang-format-19 would change a tracked C++/CUDA source (the
# .clang-format at the repo root); lists each file and the first lines it
# would change. --fix reformats them instead.
#   tools/check_format.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format-19 || true)
if [ -z "$fmt" ]; then
  echo "check_format: clang-format-19 not found (tools/setup.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cuh' '*.cu')
if [ "${1:-}" = --fix ]; then
  "$fmt" -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$fmt" "$f" | cmp -s - "$f"; then
    echo "check_format: $f is not clang-formatted:"
    "$fmt" "$f" | diff "$f" - | head -8 || true
    bad=$((bad + 1))
  fi
done
if ((bad)); then
  echo "check_format: $bad of ${#files[@]} files differ; run tools/check_format.sh --fix" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
