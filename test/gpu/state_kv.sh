#!/usr/bin/env bash
# The KV cache kept in session state (effc --kv-state, issue 14 S4) on the
# cuda backend, one command (< 4 min): llama-withpast and gpt2 --kv-cache
# compiled with symbolic seq/past/total (fp32 and --dtype=bf16) generate
# generate_0 on cuda, greedy (fp32: 32/32 tokens, logits within 1e-4) and
# teacher-forced (bf16: logits within 2e-2; llama-withpast 1e-1 and rows
# 2e-1, as its host compile gives 0.080 / 0.104 with or without state), and
# EFFC_VERBOSE=2 shows every
# run copying only ids/mask/positions in and logits out: the line's
# "copied N bytes in" stays at the size of those inputs (no cache bytes) and
# "4 session-state tensors in place" (llama: 2 layers x K/V; gpt2: its
# layers x K/V). The same compiles without --kv-state run too (fp32 and
# bf16), as the baseline whose copies include the cache: the state and plain
# logits lines of each pair should be equal or nearly so.
#   test/gpu/state_kv.sh BIN_DIR SHARED_DIR      (logs under ${OUT:-/tmp}/state-kv)
# Exit 1 on any failure.
set -uo pipefail
[[ $# == 2 ]] || { echo "usage: test/gpu/state_kv.sh BIN_DIR SHARED_DIR" >&2; exit 2; }
bin=$1 shared=$2
out=${OUT:-/tmp}/state-kv; mkdir -p "$out"
dims=(--dim batch=2 --dim seq=1..32 --dim past=0..255 --dim total=1..288)
status=0
fail() { echo "FAIL: $*"; status=1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
run_case() { # NAME MODEL REF EXTRA_EFFC_FLAGS... -- EXTRA_RUN_FLAGS...
  local name=$1 model=$2 ref=$3; shift 3
  local flags=() runflags=()
  while [[ $# -gt 0 && $1 != -- ]]; do flags+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  runflags=("$@")
  if ! "$bin/effc" "$model" "${dims[@]}" "${flags[@]}" -o "$out/$name.effc" \
      >"$out/$name.compile.log" 2>&1; then
    fail "$name: compile"; tail -3 "$out/$name.compile.log"; return
  fi
  EFFC_VERBOSE=2 timeout 60 "$bin/effc-run" --backend=cuda "$out/$name.effc" --generate 16 \
    --test-data "$ref/generate_0" "${runflags[@]}" >"$out/$name.log" 2>&1 ||
    fail "$name: effc-run exit $?"
  grep -E '^(tokens|output logits)' "$out/$name.log" | sed "s/^/$name: /"
  local copies
  copies=$(grep -o 'copied [0-9]* bytes in and [0-9]* out, [0-9]* session-state tensors' \
           "$out/$name.log" | sort | uniq -c | sort -rn | head -3)
  echo "$name: per-run copies (count, line):"; echo "$copies" | sed 's/^/    /'
  if [[ " ${flags[*]} " == *" --kv-state "* ]]; then
    # Session state: the biggest run copies at most the prefill's inputs
    # (ids + positions [2, 32] + mask [2, 288], int64) in and [2, 32, V]
    # fp32 logits out; a cache copy would add past/present bytes.
    local maxin
    maxin=$(grep -o 'copied [0-9]* bytes in' "$out/$name.log" | awk '{print $2}' | sort -n | tail -1)
    [[ -n $maxin && $maxin -le $(( 8 * (2*32 + 2*32 + 2*288) )) ]] ||
      fail "$name: a run copied $maxin bytes in (more than ids/positions/mask: the cache moved?)"
    grep -q ' 0 session-state tensors' "$out/$name.log" && fail "$name: no session state bound"
  fi
}
t=$SECONDS
W=$shared/decoders/llama-withpast L=$shared/decoders/llama G=$shared/decoders/gpt2
run_case withpast-state "$W/model.onnx" "$L" --kv-state
run_case withpast-plain "$W/model.onnx" "$L"
run_case withpast-state-bf16 "$W/model.onnx" "$L" --kv-state --dtype=bf16 -- --teacher-forcing --rtol 1e-1 --row-rtol 2e-1
run_case withpast-plain-bf16 "$W/model.onnx" "$L" --dtype=bf16 -- --teacher-forcing --rtol 1e-1 --row-rtol 2e-1
run_case gpt2-state "$G/model.onnx" "$G" --kv-cache --kv-state
run_case gpt2-plain "$G/model.onnx" "$G" --kv-cache
run_case gpt2-state-bf16 "$G/model.onnx" "$G" --kv-cache --kv-state --dtype=bf16 -- --teacher-forcing --rtol 2e-2
run_case gpt2-plain-bf16 "$G/model.onnx" "$G" --kv-cache --dtype=bf16 -- --teacher-forcing --rtol 2e-2
for f in "$out"/*.log; do
  case $f in *.compile.log) continue ;; esac
  n=$(basename "$f" .log)
  grep -q 'output logits: .* PASS' "$f" || fail "$n: logits not PASS"
  [[ $n == *bf16* ]] || grep -q '^tokens: 32/32 match' "$f" || fail "$n: tokens"
done
echo "state_kv: $((SECONDS - t)) s, status $status (logs: $out)"
exit $status
