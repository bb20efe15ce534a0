#!/usr/bin/env bash
# Generation in KV-cache mode (runtime/src/PastStepModel.cpp) on the host
# backend: ../shared/decoders/llama-withpast (llama's weights, exported with
# past) compiled once with symbolic seq/past/total prefills generate_0's
# prompt and decodes one token per step, feeding each step's present.* back
# as past_key_values.*. It must reproduce ../shared/decoders/llama's
# generate_0: HF's 32 greedy tokens and every step's logits within 1e-4,
# greedy and teacher-forced. Errors: a request past the cache bound, and an
# artifact with a fixed past (nothing to prefill with), both before any run.
#   test/e2e/run_generate_withpast.sh WITHPAST_DIR REFERENCE_DIR BIN_DIR [effc args...]
set -euo pipefail
model_dir=$1; ref_dir=$2; bin_dir=$3; shift 3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
effc=("$bin_dir/effc" "$model_dir/model.onnx" --dim batch=2)
run=("$bin_dir/effc-run" --backend=host)
"${effc[@]}" --dim seq=1..32 --dim past=0..255 --dim total=1..288 -o "$work/cache.effc" "$@"

"${run[@]}" "$work/cache.effc" --generate 16 --test-data "$ref_dir/generate_0" | tee "$work/out"
grep -q '^tokens: 32/32 match$' "$work/out"
"${run[@]}" "$work/cache.effc" --generate 16 --test-data "$ref_dir/generate_0" --teacher-forcing

expect_error() { # MESSAGE CMD...: CMD fails and prints MESSAGE
  local message=$1; shift
  if "$@" >"$work/err" 2>&1; then
    echo "expected an error: $*" >&2; cat "$work/err" >&2; exit 1
  fi
  cat "$work/err"
  grep -qF -- "$message" "$work/err" ||
    { echo "the error does not say: $message" >&2; exit 1; }
}
# 16 + 241 tokens: past would reach 256 > 255.
expect_error "sequence 0: prompt of 16 tokens + max_new_tokens 241 = 257 tokens exceeds the \
model's 256 positions (the KV cache holds past <= 255 tokens: compiled with --dim past=0..255, \
total <= 288)" \
  "${run[@]}" "$work/cache.effc" --generate 241 --input "input_ids=$ref_dir/generate_0/input_0.pb"
# A fixed past cannot start from an empty cache.
"${effc[@]}" --dim seq=1 --dim past=5 --dim total=6 -o "$work/fixed.effc" "$@"
expect_error "cannot generate (kv-cache mode): input 'past_key_values.0.key' dim 2 (past) must be \
symbolic from 0 (the prefill) to the cache size; it is 5..5" \
  "${run[@]}" "$work/fixed.effc" --generate 4 --input "input_ids=$ref_dir/generate_0/input_0.pb"
