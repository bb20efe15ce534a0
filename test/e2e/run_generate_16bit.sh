#!/usr/bin/env bash
# A decoder without a cache compiled with --kv-cache and --dtype=bf16 or
# fp16 (issue 14: "bf16 step logits within 2e-2" on the GPU), host backend:
# with --teacher-forcing (HF's tokens fed back, so a near-tie that picks
# another token does not change the later steps) every step's logits are
# within RTOL (max_rel_err) and ROW_RTOL (worst row) of HF's fp32 logits of
# generate_0. The tolerances live in generate-tolerances.txt.
#   test/e2e/run_generate_16bit.sh DECODER_DIR BIN_DIR DTYPE RTOL ROW_RTOL
set -euo pipefail
[ $# = 5 ] || { echo "usage: $0 DECODER_DIR BIN_DIR DTYPE RTOL ROW_RTOL" >&2; exit 1; }
model_dir=$1; bin_dir=$2; dtype=$3; rtol=$4; row_rtol=$5
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$bin_dir/effc" "$model_dir/model.onnx" --kv-cache --dim batch=2 --dim seq=1..32 --dim past=0..255 \
  --dim total=1..288 --dtype="$dtype" --host-only -o "$work/kv.effc"
"$bin_dir/effc-run" --backend=host "$work/kv.effc" --generate 16 --test-data "$model_dir/generate_0" \
  --teacher-forcing --rtol "$rtol" --row-rtol "$row_rtol" | tee "$work/out"
grep -q '^output logits: .* PASS' "$work/out"
