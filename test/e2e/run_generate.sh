#!/usr/bin/env bash
# Generation check of one causal LM against its greedy reference:
# compile at the fixed window [2, 32] (recompute mode), generate 16 tokens per
# sequence from generate_0's prompt [2, 16] and compare the tokens and the
# logits of every step (effc-run --generate --test-data; exit 1 on any mismatch).
#   test/e2e/run_generate.sh DECODER_DIR BIN_DIR [BACKEND] [effc args...] [-- effc-run args...]
set -euo pipefail
model_dir=$1; bin_dir=$2; backend=${3:-host}; shift $(( $# < 3 ? $# : 3 ))
effc_args=(); run_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then shift; run_args=("$@"); break; fi
  effc_args+=("$1"); shift
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$bin_dir/effc" "$model_dir/model.onnx" --dim batch=2 --dim seq=32 -o "$work/model.effc" \
  ${effc_args[@]+"${effc_args[@]}"}
"$bin_dir/effc-run" "$work/model.effc" --backend="$backend" --generate 16 \
  --test-data "$model_dir/generate_0" ${run_args[@]+"${run_args[@]}"}
