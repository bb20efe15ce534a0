#!/usr/bin/env bash
# Packed ragged steps (effc --paged-kv --packed-tokens, issue 19) on the cuda
# backend, one command (< 3 min): llama-withpast compiled with --dim batch=1
# and symbolic seq/past/total, paged, its runs holding every fed sequence's
# new tokens back to back (passes/PackedTokens.cpp; attention per token
# through its sequence's block_table row (token_seq) and token_seq_lens).
# The serving engine (effc-run --repeat / --stagger / --max-seqs /
# preemption / speculation, split-KV, the pools in session state, prompts
# longer than a run) must give every request llama's generate_0 tokens and
# report no padding ("runs: ... 0 of them padding");
# effc-paged-kv-logits ... cuda packed checks each forward is one run of
# exactly the positions its feeds add, its logits within 1e-4 of the
# unpaged compile's; the batch-2 paged compile must report padding (the
# check can fail).
#   test/gpu/serve_packed.sh BIN_DIR SHARED_DIR  (logs under ${OUT:-/tmp}/serve-packed)
# BIN_DIR (build/bin) holds effc and effc-run; effc-paged-kv-logits is taken
# from BIN_DIR/../test (where `cmake --build build --target
# effc-paged-kv-logits` puts it) or $EFFC_PAGED_KV_LOGITS. Exit 1 on any
# failure.
set -uo pipefail
me=serve_packed
# shellcheck source=test/gpu/lib.sh
source "$(dirname "$0")/lib.sh"
[[ $# == 2 ]] || { echo "usage: test/gpu/serve_packed.sh BIN_DIR SHARED_DIR" >&2; exit 2; }
bin=$1 shared=$2
logits=${EFFC_PAGED_KV_LOGITS:-$bin/../test/effc-paged-kv-logits}
need_exec "$bin/effc" "$bin/effc-run" "$logits"
W=$shared/decoders/llama-withpast L=$shared/decoders/llama
[[ -f $W/model.onnx && -d $L/generate_0 ]] || fail_setup "no $W/model.onnx or $L/generate_0"
out=${OUT:-/tmp}/serve-packed; mkdir -p "$out"
dims=(--dim seq=1..32 --dim past=0..255 --dim total=1..288)
status=0
fail() { echo "FAIL: $*"; status=1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
compile() { # NAME EFFC_FLAGS...
  local name=$1; shift
  "$bin/effc" "$W/model.onnx" "$@" --remarks -o "$out/$name.effc" >"$out/$name.compile.log" 2>&1 ||
    { fail "$name: compile"; tail -3 "$out/$name.compile.log"; return 1; }
}
run_case() { # NAME ARTIFACT PADDING(0|some) RUN_FLAGS...
  local name=$1 artifact=$2 padding=$3; shift 3
  timeout 120 "$bin/effc-run" --backend=cuda "$out/$artifact.effc" --generate 16 \
    --test-data "$L/generate_0" "$@" >"$out/$name.log" 2>&1 || fail "$name: effc-run exit $?"
  grep -E '^(tokens|runs|preempted|acceptance)' "$out/$name.log" | sed "s/^/$name: /"
  grep -q '^tokens: \([0-9]*\)/\1 match$' "$out/$name.log" || fail "$name: tokens"
  if [[ $padding == 0 ]]; then
    grep -q '^runs: [0-9]* of the target, [1-9][0-9]* token positions, 0 of them padding' \
      "$out/$name.log" || fail "$name: padded positions (or no runs line)"
  else
    grep -q '^runs: .* [1-9][0-9]* of them padding' "$out/$name.log" ||
      fail "$name: the padded baseline reports no padding"
  fi
}
t=$SECONDS
P=(--paged-kv=4 --paged-kv-pages=144)
compile unpaged --dim batch=2 "${dims[@]}"
compile packed --dim batch=1 "${dims[@]}" "${P[@]}" --packed-tokens
compile packed-state --dim batch=1 "${dims[@]}" "${P[@]}" --packed-tokens --kv-state
compile packed-split --dim batch=1 "${dims[@]}" "${P[@]}" --packed-tokens --split-kv-splits=36
compile padded --dim batch=2 "${dims[@]}" "${P[@]}"
# Runs of at most 12 tokens: 16-token prompts continue in the next run.
compile packed12 --dim batch=1 --dim seq=1..12 --dim past=0..255 --dim total=1..267 "${P[@]}" \
  --packed-tokens
for f in packed packed-state packed-split packed12; do
  grep -q 'packed tokens: input_ids \[1, T\] holds the new tokens' "$out/$f.compile.log" ||
    fail "$f: not packed (remarks in $out/$f.compile.log)"
done
run_case repeat packed 0 --repeat 3 --kv-page-size 4
run_case stagger packed 0 --stagger 2 --kv-page-size 4
run_case max-seqs packed 0 --repeat 3 --max-seqs 6 --kv-page-size 4 --no-prefix-sharing
run_case preempt packed 0 --stagger 2 --kv-page-size 4 --kv-pool-pages 10 --no-prefix-sharing
run_case speculate packed 0 --draft "$out/unpaged.effc" --speculate 3 --repeat 2 --kv-page-size 4
run_case state-stagger packed-state 0 --stagger 2 --kv-page-size 4
run_case state-repeat packed-state 0 --repeat 3 --kv-page-size 4
run_case split-repeat packed-split 0 --repeat 3 --kv-page-size 4
run_case chunked packed12 0 --repeat 2 --max-seqs 4 --kv-page-size 4 --no-prefix-sharing
grep -q '^runs: 21 of the target, 124 token positions' "$out/chunked.log" ||
  fail "chunked: not 21 runs of 124 positions (6 runs for the 4 prompts, then 15 decode runs)"
run_case padded-stagger padded some --stagger 2 --kv-page-size 4
for f in packed packed-split; do
  timeout 120 "$logits" "$out/unpaged.effc" "$out/$f.effc" 4 cuda packed \
    >"$out/logits-$f.log" 2>&1 || fail "logits $f: exit $?"
  grep -E 'FAIL|second model|^PASS' "$out/logits-$f.log" | sed "s/^/logits $f: /"
  grep -q '^PASS$' "$out/logits-$f.log" || fail "logits $f"
done
echo "serve_packed: $((SECONDS - t)) s, status $status (logs: $out)"
exit $status
