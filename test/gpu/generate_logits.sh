#!/usr/bin/env bash
# What generation reads of the logits on the cuda backend (issue 14): the
# KV-cache loop (runtime/src/PastStepModel.cpp) keeps each run's logits on
# the device and brings back only each sequence's last real row (prefill)
# or, greedy, only its token id, picked on the device
# (compiler/codegen/device/argmax_rows.cuh). EFFC_GENERATE_HOST_LOGITS=1
# restores the earlier path (every run's whole [B, s, V] logits to the
# host, picked there): the "before" of each timing. One command, < 3 min:
#   test/gpu/generate_logits.sh BIN_DIR SHARED_DIR   (logs under ${OUT:-/tmp}/generate-logits)
# 1. Checks (fail = exit 1): the DeviceArgmaxGpu gtest when BIN_DIR/../test/unit/effc-runtime-tests
#    exists (device picks = host reference: ties, NaN, -inf, f32/f16/bf16);
#    llama-withpast --kv-state and gpt2 --kv-cache (plain buffers) fp32 on cuda: generate_0 with
#    --test-data (32/32 tokens, logits PASS: the rows path) and greedy
#    without it (the device picks) printing the same tokens as the
#    before-path; EFFC_VERBOSE=2 shows 'copied 16 bytes for greedy picks'
#    per step (2 sequences x int64 ids; the row indices go in only when
#    they change); each run's own line copies nothing to the host but ids,
#    mask and positions (its 'out' counts a device-to-device copy of the
#    logits into the loop's buffer where the plan does not write it there).
# 2. Timings (effc-run --generate N --bench 3: median TTFT and ms per decode
#    step), before/after on the same artifact: llama-withpast (vocab 256,
#    prompt 16) and, when a gpt2-base export exists under $EFFC_GEN_DIR
#    (bench/generate/run.sh makes one; default /tmp/effc-bench-generate or
#    /tmp/np-gen) or python3 with torch+transformers can export one in time,
#    gpt2-base bf16 --kv-state at prompt 512, batch 1 and 8 (vocab 50257:
#    before copies 8 x 512 x 50257 bf16 = 412 MB at the prefill), and the
#    same compile with --last-logits (the LM head at each row's last prompt
#    position only: 1/512 of its prefill GEMM), "after" only. If neither,
#    the table says "gpt2-base: not run" and why. The llama-withpast checks
#    of 1. run with --last-logits too (withpast-state-last).
set -uo pipefail
me=generate_logits
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: test/gpu/generate_logits.sh BIN_DIR SHARED_DIR"
bin=$(cd "$1" && pwd) || fail_setup "no directory $1"
shared=$2
need_exec "$bin/effc" "$bin/effc-run"
start_check generate-logits

tests=$bin/../test/unit/effc-runtime-tests
if [[ -x $tests ]]; then
  EFFC_TEST_GPU=1 timeout 60 "$tests" --gtest_filter='DeviceArgmax*' >"$out/gtest.log" 2>&1 ||
    fail "DeviceArgmax gtests (log $out/gtest.log)"
  grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$out/gtest.log"
else
  echo "note: no $tests (a bin-only copy): the DeviceArgmaxGpu gtest did not run"
fi

W=$shared/decoders/llama-withpast L=$shared/decoders/llama G=$shared/decoders/gpt2
dims=(--dim batch=2 --dim seq=1..32 --dim past=0..255 --dim total=1..288)
rows=()
# check NAME MODEL REF EFFC_FLAGS...: the correctness runs, then before/after timing.
check() {
  local name=$1 model=$2 ref=$3; shift 3
  timeout 90 "$bin/effc" "$model" "${dims[@]}" "$@" -o "$out/$name.effc" >"$out/$name.compile.log" 2>&1 ||
    { fail "$name: compile (log $out/$name.compile.log)"; return; }
  local run=(timeout 60 "$bin/effc-run" --backend=cuda "$out/$name.effc" --generate 16)
  "${run[@]}" --test-data "$ref/generate_0" >"$out/$name.ref.log" 2>&1 || fail "$name: --test-data"
  grep -q '^tokens: 32/32 match' "$out/$name.ref.log" || fail "$name: tokens vs generate_0"
  grep -q 'output logits: .* PASS' "$out/$name.ref.log" || fail "$name: logits vs generate_0"
  local ids=(--input "input_ids=$ref/generate_0/input_0.pb")
  EFFC_VERBOSE=2 "${run[@]}" "${ids[@]}" >"$out/$name.after.log" 2>&1 || fail "$name: greedy (device picks)"
  EFFC_GENERATE_HOST_LOGITS=1 "${run[@]}" "${ids[@]}" >"$out/$name.before.log" 2>&1 ||
    fail "$name: greedy (host logits)"
  diff <(grep '^sequence' "$out/$name.before.log") <(grep '^sequence' "$out/$name.after.log") ||
    fail "$name: device picks differ from the host's"
  [[ $(grep -c '^sequence' "$out/$name.after.log") == 2 ]] || fail "$name: no tokens printed"
  grep -q 'copied 16 bytes for greedy picks on the device (row indices in, ids out) (2 rows)' \
    "$out/$name.after.log" ||
    fail "$name: no 16-byte greedy-pick copies in the EFFC_VERBOSE=2 log"
  echo "$name: per-run copy lines (count, line):"
  grep -oE 'copied [0-9]+ bytes (in and [0-9]+ out|[a-z ]+( on the device)?.*\([0-9]+ rows\))' \
    "$out/$name.after.log" | sort | uniq -c | sort -rn | head -4 | sed 's/^/    /'
  time_pair "$name" 2 16 "$out/$name.effc" "$ref/generate_0/input_0.pb" 16
}
# time_pair NAME BATCH PROMPT ARTIFACT IDS NEW [HOW...]: rows of the table
# (default: before and after).
time_pair() {
  local name=$1 b=$2 p=$3 art=$4 ids=$5 new=$6 how line
  shift 6
  local hows=("$@")
  [[ ${#hows[@]} -gt 0 ]] || hows=(before after)
  for how in "${hows[@]}"; do
    local env=()
    [[ $how == before ]] && env=(EFFC_GENERATE_HOST_LOGITS=1)
    line=$(env "${env[@]}" timeout 100 "$bin/effc-run" --backend=cuda "$art" --generate "$new" --bench 3 \
      --input "input_ids=$ids" 2>&1 | grep '^generate timing') || { fail "$name b$b $how: --bench"; continue; }
    rows+=("$(printf '%-26s %5s %6s %-7s %10s %10s' "$name" "$b" "$p" "$how" \
      "$(sed -E 's/.*ttft_ms=([0-9.]+).*/\1/' <<<"$line")" \
      "$(sed -E 's/.*step_ms_median=([0-9.]+).*/\1/' <<<"$line")")")
  done
}
check withpast-state "$W/model.onnx" "$L" --kv-state
check gpt2-kv-cache "$G/model.onnx" "$G" --kv-cache
check withpast-state-last "$W/model.onnx" "$L" --kv-state --last-logits

# gpt2-base (vocab 50257), bf16, the cache in session state.
gb=""
for d in "${EFFC_GEN_DIR:-}" /tmp/effc-bench-generate /tmp/np-gen; do
  [[ -n $d && -f $d/gpt2-base/model.onnx ]] && { gb=$d/gpt2-base; break; }
done
why=""
if [[ -z $gb ]] && python3 -c 'import torch, transformers, onnx' 2>/dev/null; then
  gb=$out/gpt2-base
  timeout 90 python3 "$here/../../bench/generate/export_withpast.py" --arch gpt2 --size base --out "$gb" \
    --no-check >"$out/export.log" 2>&1 || { gb=""; why="export failed or took > 90 s ($out/export.log)"; }
elif [[ -z $gb ]]; then
  why="no export under \$EFFC_GEN_DIR, /tmp/effc-bench-generate or /tmp/np-gen, and no torch+transformers to make one"
fi
if [[ -n $gb ]]; then
  art=$out/gpt2-base-bf16-state.effc last=$out/gpt2-base-bf16-state-last.effc
  gdims=(--dim batch=1..8 --dim seq=1..512 --dim past=0..575 --dim total=1..576 --dtype=bf16 --kv-state)
  timeout 120 "$bin/effc" "$gb/model.onnx" "${gdims[@]}" -o "$art" >"$out/gpt2-base.compile.log" 2>&1 &
  timeout 120 "$bin/effc" "$gb/model.onnx" "${gdims[@]}" --last-logits -o "$last" \
    >"$out/gpt2-base-last.compile.log" 2>&1 || fail "gpt2-base --last-logits compile"
  wait $! || fail "gpt2-base compile (log $out/gpt2-base.compile.log)"
  for b in 1 8; do
    [[ -f $art ]] || break
    python3 "$here/random_ids.py" "$b" 512 50257 "$out/ids-b$b" >/dev/null 2>&1 ||
      { fail "random_ids.py"; continue; }
    time_pair gpt2-base-bf16-state "$b" 512 "$art" "$out/ids-b$b/input_ids.npy" 32
    # The LM head at the last position only (effc --last-logits), device picks.
    [[ -f $last ]] && time_pair gpt2-base-bf16-state-last "$b" 512 "$last" \
      "$out/ids-b$b/input_ids.npy" 32 after
  done
fi
echo
printf '%-26s %5s %6s %-7s %10s %10s\n' model batch prompt logits ttft_ms step_ms
for r in "${rows[@]}"; do echo "$r"; done
[[ -n $why ]] && echo "gpt2-base: not run: $why"
echo "(before: EFFC_GENERATE_HOST_LOGITS=1, whole logits to the host; after: last rows / device picks)"
echo "generate_logits: $((SECONDS - t0)) s, status $status (logs: $out)"
exit $status
