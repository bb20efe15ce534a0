#!/usr/bin/env bash
# Paged KV pools kept in session state (effc --paged-kv --kv-state, issue 19)
# on the cuda backend, one command (< 3 min): llama-withpast compiled with
# symbolic seq/past/total and paged pools, with and without --kv-state; the
# serving engine (effc-run --repeat / --stagger / preemption, split-KV) must
# give every request llama's generate_0 tokens, and EFFC_VERBOSE=2 must show
# every state run copying only ids/positions/block table/seq lens/slot
# mapping in ("copied N bytes in" far below one 64 KiB pool: 2 KV heads x 512
# positions x 16 x fp32) with "4 session-state tensors in place", while the
# baseline without --kv-state copies all 4 pools (>= 256 KiB) in each run.
#   test/gpu/paged_kv_state.sh BIN_DIR SHARED_DIR  (logs under ${OUT:-/tmp}/paged-kv-state)
# Exit 1 on any failure.
set -uo pipefail
[[ $# == 2 ]] || { echo "usage: test/gpu/paged_kv_state.sh BIN_DIR SHARED_DIR" >&2; exit 2; }
bin=$1 shared=$2
out=${OUT:-/tmp}/paged-kv-state; mkdir -p "$out"
dims=(--dim batch=2 --dim seq=1..32 --dim past=0..255 --dim total=1..288)
W=$shared/decoders/llama-withpast L=$shared/decoders/llama
status=0
fail() { echo "FAIL: $*"; status=1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
run_case() { # NAME EFFC_FLAGS... -- RUN_FLAGS...
  local name=$1; shift
  local flags=() runflags=()
  while [[ $# -gt 0 && $1 != -- ]]; do flags+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  runflags=("$@")
  if ! "$bin/effc" "$W/model.onnx" "${dims[@]}" "${flags[@]}" -o "$out/$name.effc" \
      >"$out/$name.compile.log" 2>&1; then
    fail "$name: compile"; tail -3 "$out/$name.compile.log"; return
  fi
  EFFC_VERBOSE=2 timeout 60 "$bin/effc-run" --backend=cuda "$out/$name.effc" --generate 16 \
    --test-data "$L/generate_0" "${runflags[@]}" >"$out/$name.log" 2>&1 ||
    fail "$name: effc-run exit $?"
  grep -E '^(tokens|shared pages|preempted)' "$out/$name.log" | sed "s/^/$name: /"
  grep -q '^tokens: \([0-9]*\)/\1 match$' "$out/$name.log" || fail "$name: tokens"
  local maxin minin
  maxin=$(grep -o 'copied [0-9]* bytes in' "$out/$name.log" | awk '{print $2}' | sort -n | tail -1)
  minin=$(grep -o 'copied [0-9]* bytes in' "$out/$name.log" | awk '{print $2}' | sort -n | head -1)
  echo "$name: bytes in per run: min $minin, max $maxin"
  [[ -n $maxin ]] || { fail "$name: no EFFC_VERBOSE=2 run line"; return; }
  if [[ " ${flags[*]} " == *" --kv-state "* ]]; then
    ((maxin < 16384)) || fail "$name: a run copied $maxin bytes in (a pool moved?)"
    grep -q ' 4 session-state tensors in place' "$out/$name.log" ||
      fail "$name: the pools are not session state"
  else
    ((minin >= 4 * 65536)) || fail "$name: baseline run copied only $minin bytes in"
  fi
}
t=$SECONDS
P=(--paged-kv=4 --paged-kv-pages=128)
run_case repeat-plain "${P[@]}" -- --repeat 3 --kv-page-size 4
run_case repeat-state "${P[@]}" --kv-state -- --repeat 3 --kv-page-size 4
run_case stagger-state --paged-kv=8 --paged-kv-pages=64 --kv-state -- --stagger 3 --kv-page-size 8
run_case preempt-state "${P[@]}" --kv-state -- --stagger 2 --kv-page-size 4 --kv-pool-pages 10 --no-prefix-sharing
run_case split-state "${P[@]}" --split-kv-splits=36 --kv-state -- --repeat 3 --kv-page-size 4
echo "paged_kv_state: $((SECONDS - t)) s, status $status (logs: $out)"
exit $status
