#!/usr/bin/env bash
# The fused LoRA GEMM epilogues on a GPU: the cases of
# test/lit/Inputs/lora_cases.py (q/k/v on a 3-D x with shared shrink and
# stacked adapters; GPT-2's 2-D c_attn with a bias), decomposed and fused,
# run on the cuda backend against the host backend's eff.lora_linear reference
# (--decompose-lora=false): fp32 (FFMA GEMMs) within 1e-5, bf16 (tensor-core
# GEMMs) within 2e-2.
#   test/gpu/check_lora_epilogue.sh [BIN_DIR]
# Needs python3 + numpy. Logs go to ${OUT:-/tmp}/check_lora_epilogue. Prints
# one line per output; exit 1 on any FAIL.
set -uo pipefail
me=check_lora_epilogue
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
bin=${1:-$repo/build/bin}
cases="$repo/test/lit/Inputs/lora_cases.py"
need_exec "$bin/effc" "$bin/effc-run"
need_python numpy
log=${OUT:-/tmp}/check_lora_epilogue; rm -rf "$log"; mkdir -p "$log"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$cases" make "$work" || fail_setup "$cases make failed"
fails=0 checked=0
for c in qkv gpt2; do
  inputs=()
  for f in "$work/$c"/*.npy; do inputs+=(--input "$(basename "$f" .npy)=$f"); done
  ((${#inputs[@]})) || fail_setup "$cases wrote no input for case $c"
  expected=$(find "$work/$c-numpy" -name '*.npy' | wc -l)
  for dtype in fp32 bf16; do
    rtol=1e-5; [ "$dtype" = bf16 ] && rtol=2e-2
    out="$work/$c-$dtype"; mkdir -p "$out-ref" "$out-cuda"
    if ! { "$bin/effc" "$work/$c.mlir" --dtype=$dtype --decompose-lora=false -o "$out-ref.effc" &&
           "$bin/effc" "$work/$c.mlir" --dtype=$dtype -o "$out.effc" &&
           "$bin/effc-run" "$out-ref.effc" --backend=host "${inputs[@]}" --output-dir "$out-ref" &&
           "$bin/effc-run" "$out.effc" --backend=cuda "${inputs[@]}" --output-dir "$out-cuda"; } \
         >"$log/$c-$dtype.log" 2>&1; then
      tail -5 "$log/$c-$dtype.log"
      echo "$c $dtype: compile or run failed (log: $log/$c-$dtype.log)"; fails=$((fails + 1)); continue
    fi
    # Every output of the case must have been written by both runs.
    for d in "$out-ref" "$out-cuda"; do
      n=$(find "$d" -name '*.npy' | wc -l)
      ((n == expected)) || { echo "$c $dtype: $d has $n outputs, expected $expected"; fails=$((fails + 1)); continue 2; }
    done
    python3 "$cases" compare "$out-ref" "$out-cuda" $rtol | sed "s/^/$c $dtype /" || fails=$((fails + 1))
    checked=$((checked + 1))
  done
done
echo "LoRA epilogue GPU check: $checked runs compared, $fails failure(s)"
[ "$fails" -eq 0 ] && [ "$checked" -eq 4 ]
