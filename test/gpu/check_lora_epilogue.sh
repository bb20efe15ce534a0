#!/usr/bin/env bash
# The fused LoRA GEMM epilogues on a GPU: the cases of
# test/lit/Inputs/lora_cases.py (q/k/v on a 3-D x with shared shrink and
# stacked adapters; GPT-2's 2-D c_attn with a bias), decomposed and fused,
# run on the cuda backend against the host backend's eff.lora_linear reference
# (--decompose-lora=false): fp32 (FFMA GEMMs) within 1e-5, bf16 (tensor-core
# GEMMs) within 2e-2.
#   test/gpu/check_lora_epilogue.sh [BIN_DIR]
# Prints one line per output; exit 1 on any FAIL.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:-$repo/build/bin}
cases="$repo/test/lit/Inputs/lora_cases.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$cases" make "$work" || exit 1
fails=0
for c in qkv gpt2; do
  inputs=()
  for f in "$work/$c"/*.npy; do inputs+=(--input "$(basename "$f" .npy)=$f"); done
  for dtype in fp32 bf16; do
    rtol=1e-5; [ "$dtype" = bf16 ] && rtol=2e-2
    out="$work/$c-$dtype"; mkdir -p "$out-ref" "$out-cuda"
    "$bin/effc" "$work/$c.mlir" --dtype=$dtype --decompose-lora=false -o "$out-ref.effc" 2>/dev/null &&
      "$bin/effc" "$work/$c.mlir" --dtype=$dtype -o "$out.effc" 2>/dev/null &&
      "$bin/effc-run" "$out-ref.effc" --backend=host "${inputs[@]}" --output-dir "$out-ref" &&
      "$bin/effc-run" "$out.effc" --backend=cuda "${inputs[@]}" --output-dir "$out-cuda" ||
      { echo "$c $dtype: compile or run failed"; fails=$((fails + 1)); continue; }
    python3 "$cases" compare "$out-ref" "$out-cuda" $rtol | sed "s/^/$c $dtype /" || fails=$((fails + 1))
  done
done
echo "LoRA epilogue GPU check: $fails failure(s)"
[ "$fails" -eq 0 ]
