#!/usr/bin/env bash
# What of the GPU scripts can be checked without a GPU (ctest gpu-scripts-host):
#  - every GPU script parses (bash -n);
#  - the scripts that loop over models fail, naming the folder, when they find
#    none, and fail on a missing binary;
#  - effc-model-bench (bench/models) on the host backend: passes against
#    the model's reference, fails with a tolerance the output cannot meet,
#    on another model's reference and without a reference; lib.sh's
#    model_bench (what bench/models and bench/lora run) reads each outcome.
#   test/gpu/host_selftest.sh BIN_DIR SHARED_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:?usage: host_selftest.sh BIN_DIR SHARED_DIR}
shared=${2:?usage: host_selftest.sh BIN_DIR SHARED_DIR}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for f in "$repo"/test/gpu/*.sh "$repo"/bench/*/run.sh; do
  bash -n "$f" || fail "$f does not parse"
done

# expect_error DESCRIPTION PATTERN COMMAND...: COMMAND exits non-zero and
# prints PATTERN.
expect_error() {
  local what=$1 pattern=$2; shift 2
  if "$@" >"$work/out" 2>&1; then
    fail "$what: exit 0"; cat "$work/out"
  elif ! grep -q -- "$pattern" "$work/out"; then
    fail "$what: no '$pattern' in its output:"; cat "$work/out"
  else
    echo "ok: $what"
  fi
}
mkdir -p "$work/empty"
expect_error "check_all without models" "no model found in $work/empty" \
  env EFFC_MODELS="$work/empty" OUT="$work" bash "$repo/test/gpu/check_all.sh" "$bin"
expect_error "check_lora without models" "no model found in $work/empty" \
  env OUT="$work" bash "$repo/test/gpu/check_lora.sh" "$bin" "$work/empty"
expect_error "check_quant without models" "no model found in $work/empty" \
  env OUT="$work" bash "$repo/test/gpu/check_quant.sh" "$bin" "$work/empty"
expect_error "check_all without effc" "missing executable $work/empty/effc" \
  env OUT="$work" bash "$repo/test/gpu/check_all.sh" "$work/empty"
expect_error "compute_sanitizer without the sanitizer" "missing executable $work/empty/compute-sanitizer" \
  env EFFC_SANITIZER="$work/empty/compute-sanitizer" OUT="$work" bash "$repo/test/gpu/compute_sanitizer.sh" "$bin"
expect_error "check_generate without decoders" "no decoder with generate_0/ found in $work/empty" \
  env OUT="$work" bash "$repo/test/gpu/check_generate.sh" "$bin" "$work/empty"
expect_error "run_all with an unknown part" "unknown part 'nope'" \
  bash "$repo/test/gpu/run_all.sh" --parts=nope "$bin" "$shared/tools/export_hf_onnx.py"
expect_error "device_api without models" "models directory (EFFC_MODELS) not found" \
  env EFFC_MODELS="$work/empty/none" OUT="$work" bash "$repo/test/gpu/device_api.sh" "$bin"
expect_error "device_api without a model's test data" "test data of nope not found" \
  env EFFC_MODELS="$work/empty" OUT="$work" bash "$repo/test/gpu/device_api.sh" "$bin" nope

model=$shared/models/gpt2-dynamo data=$model/test_data_set_0
if "$bin/effc" "$model/model.onnx" --shape input_ids=2x16 -o "$work/gpt2.effc" >"$work/effc.log" 2>&1; then
  bench=("$bin/effc-model-bench" "$work/gpt2.effc" --backend=host --runs 2 --input "input_ids=$data/input_0.pb")
  if "${bench[@]}" --reference "logits=$data/output_0.pb" >"$work/out" 2>&1 &&
     grep -q 'outputs bit-identical to the first run.s: yes' "$work/out" && grep -q '^effc-model-bench: PASS' "$work/out"; then
    echo "ok: effc-model-bench passes against the reference"
  else
    fail "effc-model-bench against the reference:"; cat "$work/out"
  fi
  expect_error "effc-model-bench at rtol 1e-12" "effc-model-bench: FAIL" \
    "${bench[@]}" --reference "logits=$data/output_0.pb" --rtol 1e-12
  expect_error "effc-model-bench with another model's reference" "effc-model-bench: FAIL" \
    "${bench[@]}" --reference "logits=$shared/models/llama-dynamo/test_data_set_0/output_0.pb"
  expect_error "effc-model-bench without a reference" "no --reference for model output 'logits'" "${bench[@]}"
  # The device API check runs on cuda only: here, the clear no-GPU error.
  expect_error "effc-device-api-check without a GPU" "cuda backend: no CUDA driver/GPU found" \
    "$bin/effc-device-api-check" "$work/gpt2.effc" --input "input_ids=$data/input_0.pb"
  # expect_model_bench CHECK ARGS...: model_bench's verdict on ARGS is CHECK.
  expect_model_bench() {
    local want=$1; shift
    ( source "$repo/test/gpu/lib.sh"
      model_bench "$work/run" "$bin" "${bench[@]:1}" "$@"
      if [[ $bench_check == "$want"* && $bench_err =~ ^[0-9] && $bench_e2e_ms =~ ^[0-9] ]]; then
        echo "ok: model_bench says $bench_check (max_rel_err $bench_err, $bench_e2e_ms ms end to end; the host has no device time)"
      else
        echo "FAIL: model_bench $*: want $want, got '$bench_check' err '$bench_err' e2e ms '$bench_e2e_ms'"; cat "$work/run"
        exit 1
      fi ) || failures=$((failures + 1))
  }
  expect_model_bench PASS --reference "logits=$data/output_0.pb"
  expect_model_bench "FAIL(numerics)" --reference "logits=$data/output_0.pb" --rtol 1e-12
else
  fail "effc on $model:"; cat "$work/effc.log"
fi

if ((failures)); then
  echo "host_selftest: $failures failure(s)"
  exit 1
fi
echo "host_selftest: all passed"
