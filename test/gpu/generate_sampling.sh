#!/usr/bin/env bash
# Sampling on the device (issue 14): with temperature/top-k/top-p the
# KV-cache loop (runtime/src/PastStepModel.cpp) draws each token on the GPU
# (compiler/codegen/device/sample_rows.cuh) and only the ids come back; the
# host sampler follows the same definition (token_sampling.cuh), so the
# tokens must be the host's exactly. EFFC_GENERATE_HOST_LOGITS=1 brings the
# logits to the host and samples there: the reference. One command, < 5 min:
#   test/gpu/generate_sampling.sh BIN_DIR SHARED_DIR   (logs under ${OUT:-/tmp}/generate-sampling)
# Checks (fail = exit 1):
# 1. BIN_DIR/../test/unit/effc-runtime-tests --gtest_filter='DeviceSampler*:DeviceArgmax*'
#    with EFFC_TEST_GPU=1 (device ids == host ids on crafted rows: ties,
#    +-inf, NaN, f32/bf16/f16, 8 settings x 2 seeds x 3 steps).
# 2. decoders/gpt2 and decoders/llama, --kv-cache with --kv-state, and with
#    --kv-state --last-logits, fp32 and bf16, on cuda: sampled
#    (--temperature 0.8 --top-k 20 --top-p 0.9, seeds 1 2 3) device tokens ==
#    host tokens, the device path taken (EFFC_VERBOSE=2 'sampled picks on the
#    device'), seeds giving different tokens; greedy: device picks == host
#    picks, and in fp32 generate_0's 32/32 tokens with logits PASS.
# 3. Recompute mode (no KV cache, [2, 32] window) fp32: greedy generate_0
#    32/32 + logits PASS, and sampled tokens with only the read rows copied
#    back == the whole-window path's (EFFC_GENERATE_HOST_LOGITS=1); the
#    EFFC_VERBOSE=2 copy lines are 'logits rows' of 4 rows per step (each
#    sequence's new row and the one it read last step, which the causality
#    check compares), not the [2, 32, V] window.
set -uo pipefail
me=generate_sampling
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: test/gpu/generate_sampling.sh BIN_DIR SHARED_DIR"
bin=$(cd "$1" && pwd) || fail_setup "no directory $1"
shared=$2
need_exec "$bin/effc" "$bin/effc-run"
start_check generate-sampling

tests=$bin/../test/unit/effc-runtime-tests
if [[ -x $tests ]]; then
  EFFC_TEST_GPU=1 timeout 120 "$tests" --gtest_filter='DeviceSampler*:DeviceArgmax*' \
    >"$out/gtest.log" 2>&1 || fail "DeviceSampler/DeviceArgmax gtests (log $out/gtest.log)"
  grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$out/gtest.log"
else
  fail "no $tests: the DeviceSamplerGpu gtest did not run (copy the build's test/unit too)"
fi

sampling=(--temperature 0.8 --top-k 20 --top-p 0.9)
dims=(--dim batch=2 --dim seq=1..32 --dim past=0..255 --dim total=1..288)
checked=0
# same NAME LOG_A LOG_B: the 'sequence' lines of two runs are equal and there.
same() {
  [[ $(grep -c '^sequence' "$2") == 2 ]] || { fail "$1: no tokens in $2"; return; }
  diff <(grep '^sequence' "$2") <(grep '^sequence' "$3") >/dev/null ||
    fail "$1: $(basename "$2") and $(basename "$3") differ"
}
# kv NAME DECODER DTYPE EFFC_FLAGS...: the KV-cache checks of one compile.
kv() {
  local name=$1 dir=$shared/decoders/$2 dtype=$3
  shift 3
  timeout 120 "$bin/effc" "$dir/model.onnx" "${dims[@]}" --dtype="$dtype" --kv-cache "$@" \
    -o "$out/$name.effc" >"$out/$name.compile.log" 2>&1 ||
    { fail "$name: compile (log $out/$name.compile.log)"; return; }
  local run=(timeout 60 "$bin/effc-run" --backend=cuda "$out/$name.effc" --generate 16)
  local ids=(--input "input_ids=$dir/generate_0/input_0.pb")
  # fp32: HF's greedy tokens and logits (bf16's near-ties may pick others).
  if [[ $dtype == fp32 ]]; then
    "${run[@]}" --test-data "$dir/generate_0" >"$out/$name.ref.log" 2>&1 || fail "$name: --test-data"
    grep -q '^tokens: 32/32 match' "$out/$name.ref.log" || fail "$name: tokens vs generate_0"
    grep -q 'output logits: .* PASS' "$out/$name.ref.log" || fail "$name: logits vs generate_0"
  fi
  "${run[@]}" "${ids[@]}" >"$out/$name.greedy-device.log" 2>&1 || fail "$name: greedy (device)"
  EFFC_GENERATE_HOST_LOGITS=1 "${run[@]}" "${ids[@]}" >"$out/$name.greedy-host.log" 2>&1 ||
    fail "$name: greedy (host)"
  same "$name greedy" "$out/$name.greedy-host.log" "$out/$name.greedy-device.log"
  local seed
  for seed in 1 2 3; do
    local d=$out/$name.seed$seed.device.log h=$out/$name.seed$seed.host.log
    EFFC_VERBOSE=2 "${run[@]}" "${ids[@]}" "${sampling[@]}" --seed "$seed" >"$d" 2>&1 ||
      fail "$name seed $seed: sampled (device)"
    EFFC_GENERATE_HOST_LOGITS=1 "${run[@]}" "${ids[@]}" "${sampling[@]}" --seed "$seed" >"$h" 2>&1 ||
      fail "$name seed $seed: sampled (host)"
    same "$name seed $seed sampled" "$h" "$d"
    grep -q 'for sampled picks on the device' "$d" ||
      fail "$name seed $seed: no 'sampled picks on the device' in the EFFC_VERBOSE=2 log $d"
    checked=$((checked + 1))
  done
  diff <(grep '^sequence' "$out/$name.seed1.device.log") \
    <(grep '^sequence' "$out/$name.seed2.device.log") >/dev/null &&
    fail "$name: seeds 1 and 2 gave the same tokens"
  echo "$name: greedy and 3 seeds sampled: device == host"
  grep '^sequence' "$out/$name.seed1.device.log" | sed 's/^/    seed 1 /'
}
for d in gpt2 llama; do
  for dtype in fp32 bf16; do
    kv "$d-$dtype-state" "$d" "$dtype" --kv-state
    kv "$d-$dtype-state-last" "$d" "$dtype" --kv-state --last-logits
  done
done

# Recompute mode: only the rows read come back.
for d in gpt2 llama; do
  name=$d-recompute dir=$shared/decoders/$d
  timeout 120 "$bin/effc" "$dir/model.onnx" --dim batch=2 --dim seq=32 -o "$out/$name.effc" \
    >"$out/$name.compile.log" 2>&1 || { fail "$name: compile (log $out/$name.compile.log)"; continue; }
  run=(timeout 60 "$bin/effc-run" --backend=cuda "$out/$name.effc" --generate 16)
  EFFC_VERBOSE=2 "${run[@]}" --test-data "$dir/generate_0" >"$out/$name.ref.log" 2>&1 ||
    fail "$name: --test-data"
  grep -q '^tokens: 32/32 match' "$out/$name.ref.log" || fail "$name: tokens vs generate_0"
  grep -q 'output logits: .* PASS' "$out/$name.ref.log" || fail "$name: logits vs generate_0"
  grep -q 'copied [0-9]* bytes of logits rows to the host (4 rows)' "$out/$name.ref.log" ||
    fail "$name: no 4-row logits copies in the EFFC_VERBOSE=2 log $out/$name.ref.log"
  grep -qE 'copied [0-9]+ bytes of logits rows to the host \(([5-9]|[0-9]{2,}) rows\)' \
    "$out/$name.ref.log" && fail "$name: a step copied more than 4 rows ($out/$name.ref.log)"
  ids=(--input "input_ids=$dir/generate_0/input_0.pb")
  "${run[@]}" "${ids[@]}" "${sampling[@]}" --seed 1 >"$out/$name.rows.log" 2>&1 ||
    fail "$name: sampled (rows)"
  EFFC_GENERATE_HOST_LOGITS=1 "${run[@]}" "${ids[@]}" "${sampling[@]}" --seed 1 \
    >"$out/$name.window.log" 2>&1 || fail "$name: sampled (whole window)"
  same "$name sampled" "$out/$name.window.log" "$out/$name.rows.log"
  echo "$name: greedy 32/32, sampled rows == whole window; copy lines (count, line):"
  grep -oE 'copied [0-9]+ bytes of logits rows to the host \([0-9]+ rows\)' "$out/$name.ref.log" |
    sort | uniq -c | sort -rn | head -3 | sed 's/^/    /'
done
[[ $checked == 24 ]] || fail "$checked of 24 sampled comparisons ran"
echo "generate_sampling: $((SECONDS - t0)) s, status $status (logs: $out)"
exit $status
