#!/usr/bin/env bash
# --paged-kv on sliding-window attention (issue 19): ../shared/zoo/gemma3-dynamo
# (two local layers, window 8; the zoo export has no generate_0 and names its
# output 'out', so make_generate_ref.py renames it 'logits' and writes a
# generate_0 from the model compiled without a cache) compiled with
# --kv-cache --paged-kv. The mask proof must find the window in both layers
# (remarks), and the serving engine over the paged artifact must give the
# reference tokens with prompts 16 + 16 new tokens, so every query past
# position 7 has keys outside its window: repeated prompts sharing pages
# (copy-on-write), staggered rows, a pool too small for both rows
# (preemption), split-KV (eff.paged_attention_partial: splits of 8 positions,
# some wholly outside every window); effc-paged-kv-logits compares the paged
# and split-KV compiles' logits forward by forward (staggered rows, prefix
# sharing, copy-on-write, rewind). The CUDA kernels of both go through NVRTC
# (sm_80, sm_90, sm_90a). The same over the --packed-tokens compile (batch 1,
# the windows per token, no padding).
#   test/e2e/run_engine_paged_window.sh MODEL_DIR BIN_DIR LOGITS_BIN [BACKEND]
set -euo pipefail
model_dir=$1; bin_dir=$2; logits_bin=$3; backend=${4:-host}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
expect() { grep -q "$1" "$work/out.txt" || { echo "expected a line matching '$1'"; exit 1; }; }

python3 "$here/make_generate_ref.py" "$model_dir" "$bin_dir" 16 "$work/ref"
model=$work/ref/model.onnx ref=$work/ref/generate_0
dims=(--dim batch=2 --dim seq=1..32 --dim past=0..255 --dim total=1..288)
"$bin_dir/effc" "$model" --kv-cache "${dims[@]}" -o "$work/cache.effc" >/dev/null
# The unpaged KV-cache compile reproduces the reference (tokens and logits).
"$bin_dir/effc-run" "$work/cache.effc" --backend="$backend" --generate 16 --test-data "$ref" |
  tee "$work/out.txt"
expect '^tokens: 32/32 match$'

paged() { # PAGE_SIZE OUT [effc args]: the --paged-kv compile, with its remarks
  local ps=$1 out=$2
  shift 2
  "$bin_dir/effc" "$model" --kv-cache "${dims[@]}" --paged-kv="$ps" \
    --paged-kv-pages=$((2 * ((288 + ps - 1) / ps))) --remarks "$@" -o "$out" 2>&1 >/dev/null |
    tee "$work/out.txt"
  expect "attention 0 reads 'present.0.key' .*, sliding window of 8 positions; its mask is replaced by seq_lens, causal and the window (equal to causal + padding + a sliding window of 8 positions at 9 probes"
  expect "attention 1 reads 'present.1.key' .*, sliding window of 8 positions"
  expect "attention_mask's length only sized tables read at position_ids: they are 288 positions long"
}
paged 4 "$work/paged4.effc"
paged 8 "$work/paged8.effc"
paged 4 "$work/split.effc" --split-kv-splits=36
expect "in 36 splits of whole pages, sliding window of 8 positions"

run() { # ARTIFACT effc-run args...: every request gives its row's reference tokens
  local artifact=$1
  shift
  "$bin_dir/effc-run" "$artifact" --backend="$backend" --generate 16 --test-data "$ref" "$@" |
    tee "$work/out.txt"
  grep -q '^tokens: \([0-9]*\)/\1 match$' "$work/out.txt"
}
run "$work/paged4.effc" --repeat 3 --kv-page-size 4
expect '^tokens: 96/96 match$'
expect '^shared pages: 16 (.*copy-on-write copies: 4)$'
run "$work/paged8.effc" --stagger 5 --kv-page-size 8
expect '^row 1: submitted at step 5'
run "$work/paged4.effc" --stagger 2 --kv-page-size 4 --kv-pool-pages 10 --no-prefix-sharing
expect '^preempted: [1-9]'
run "$work/split.effc" --stagger 2 --kv-page-size 4

# Logits forward by forward, paged against split-KV (the unpaged compile's
# gather path right-pads rows of different lengths; eff-kv-cache reads its
# window at token positions, checked by run_kv_cache_window_ragged.sh).
"$logits_bin" "$work/paged4.effc" "$work/split.effc" 4 "$backend" | tee "$work/out.txt"
expect '^PASS$'
expect '^paged: .* [1-9][0-9]* page references shared, [1-9][0-9]* copy-on-write copies$'
for f in paged4 split; do
  "$bin_dir/effc-nvrtc-check" "$work/$f.effc" --arch=sm_80,sm_90,sm_90a | tee "$work/out.txt"
  expect '^sm_90a: [0-9]* kernels compiled'
done

# Packed tokens (--dim batch=1 --packed-tokens, passes/PackedTokens.cpp): the
# windows per token, every run without padding; logits against the paged
# compile, each forward one run of exactly the positions its feeds add.
"$bin_dir/effc" "$model" --kv-cache --dim batch=1 "${dims[@]:2}" --paged-kv=4 \
  --paged-kv-pages=144 --packed-tokens --remarks -o "$work/packed.effc" 2>&1 >/dev/null |
  tee "$work/out.txt"
expect "packed tokens: input_ids \[1, T\] holds the new tokens of many sequences back to back; 2 paged attentions"
for args in "--repeat 3" "--stagger 2"; do
  # shellcheck disable=SC2086
  run "$work/packed.effc" --kv-page-size 4 $args
  expect '^runs: [0-9]* of the target, [1-9][0-9]* token positions, 0 of them padding (0.0%)$'
done
"$logits_bin" "$work/paged4.effc" "$work/packed.effc" 4 "$backend" packed | tee "$work/out.txt"
expect '^PASS$'
"$bin_dir/effc-nvrtc-check" "$work/packed.effc" --arch=sm_80,sm_90,sm_90a | tee "$work/out.txt"
expect '^sm_90a: [0-9]* kernels compiled'
