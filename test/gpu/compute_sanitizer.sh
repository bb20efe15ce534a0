#!/usr/bin/env bash
# compute-sanitizer memcheck and racecheck on every CUDA kernel family effc
# generates, on small artifacts (racecheck is slow on big kernels):
#   models     every shared model (2x16 tokens), fp32 and bf16: elementwise and
#              fused kernels, warp-per-row reductions (norms, softmax), data
#              movement (gather, transpose, concat, slice), FFMA GEMMs (fp32)
#              and tensor-core GEMMs (bf16) with fused epilogues, the fp32
#              attention kernel and FlashAttention-2 forward (bf16), MoE top-k
#   ops        the single-op cases of gen_op_cases.py: block-per-row
#              reductions, top-k, cumsum, rope, masks, fp16, every corner
#   decode     an Attention-23 decode step (q_len 1, GQA 8/2, 1024 keys, bf16):
#              split-KV partial + combine kernels (split checked by the
#              remark) and the same step as one FlashAttention-2 kernel
#   lora       the fused LoRA GEMM epilogues of test/lit/Inputs/lora_cases.py
#              (shared shrink, stacked adapters, bias), fp32 and bf16
# Each artifact runs once without the sanitizer (JIT-compiles and caches its
# kernels), then under each tool with EFFC_CUDA_GRAPH=0, so every launch is
# checked on its own. A tool run fails on a nonzero exit, an error count > 0
# in its summary, or no summary at all; racecheck warnings are counted and
# shown but do not fail.
#
#   test/gpu/compute_sanitizer.sh [BIN_DIR]
#     EFFC_MODELS           shared models (default ../shared/models)
#     EFFC_SANITIZER        default /usr/local/cuda/bin/compute-sanitizer
#     EFFC_SANITIZER_TOOLS  default "memcheck racecheck" (synccheck, initcheck work too)
#     EFFC_JOBS             artifacts at once (default: half the cores)
#     OUT                   logs go to $OUT/compute-sanitizer (default /tmp/compute-sanitizer)
# Needs python3 + numpy + onnx. Exit 1 on any failure.
set -uo pipefail
me=compute_sanitizer
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
bin=${1:-$repo/build/bin}
models=${EFFC_MODELS:-$repo/../shared/models}
sanitizer=${EFFC_SANITIZER:-/usr/local/cuda/bin/compute-sanitizer}
read -r -a tools <<<"${EFFC_SANITIZER_TOOLS:-memcheck racecheck}"
need_exec "$bin/effc" "$bin/effc-run" "$sanitizer"
need_dir "$models" "models directory (EFFC_MODELS)"
need_python numpy onnx
((${#tools[@]})) || fail_setup "EFFC_SANITIZER_TOOLS is empty"
log=${OUT:-/tmp}/compute-sanitizer; rm -rf "$log"; mkdir -p "$log/rows"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# tool_verdict TOOL LOG RC: "PASS", "PASS(W warnings)" or "FAIL(...)".
tool_verdict() {
  local tool=$1 file=$2 rc=$3 errors=0 warnings=0
  local race='RACECHECK SUMMARY: [0-9]+ hazards? displayed \(([0-9]+) errors?, ([0-9]+) warnings?\)'
  local memory='ERROR SUMMARY: ([0-9]+) errors?'
  if [[ $(grep -E "$race" "$file" | tail -1) =~ $race ]]; then
    errors=${BASH_REMATCH[1]} warnings=${BASH_REMATCH[2]}
  elif [[ $(grep -E "$memory" "$file" | tail -1) =~ $memory ]]; then
    errors=${BASH_REMATCH[1]}
  else
    echo "FAIL(no $tool summary, exit $rc)"; return
  fi
  if ((errors > 0)); then
    echo "FAIL($errors errors)"
  elif ((rc != 0)); then
    echo "FAIL(exit $rc)"
  elif ((warnings > 0)); then
    echo "PASS($warnings warnings)"
  else
    echo PASS
  fi
}

# sanitize_target NAME SOURCE EFFC_FLAGS RUN_FLAGS [EXPECT]: compile SOURCE
# (checking that effc printed EXPECT, if given), run it, then run it under
# each tool. Writes "NAME|verdict per tool..." to $log/rows/NAME.
# shellcheck disable=SC2086  # the flags are lists
sanitize_target() {
  local name=$1 src=$2 effc_flags=$3 run_flags=$4 expect=${5:-} art=$work/$1.effc out=$work/$1.out
  local verdicts=() tool rc tlog=$log/$name
  mkdir -p "$out"
  if ! "$bin/effc" "$src" $effc_flags -o "$art" >"$tlog.effc.log" 2>&1; then
    verdicts=("FAIL(effc)")
  elif grep -q "no CUDA kernel" "$tlog.effc.log"; then
    verdicts=("FAIL(no CUDA kernel)")
  elif [[ -n $expect ]] && ! grep -q "$expect" "$tlog.effc.log"; then
    verdicts=("FAIL(effc did not print '$expect')")
  elif ! EFFC_CUDA_GRAPH=0 "$bin/effc-run" "$art" --backend=cuda $run_flags --output-dir "$out" \
         >"$tlog.run.log" 2>&1; then
    verdicts=("FAIL(run without the sanitizer)")
  else
    for tool in "${tools[@]}"; do
      local extra=()
      [[ $tool == memcheck ]] && extra=(--leak-check no)
      EFFC_CUDA_GRAPH=0 "$sanitizer" --tool "$tool" --error-exitcode 99 --print-limit 20 "${extra[@]}" \
        "$bin/effc-run" "$art" --backend=cuda $run_flags --output-dir "$out" >"$tlog.$tool.log" 2>&1
      rc=$?
      verdicts+=("$(tool_verdict "$tool" "$tlog.$tool.log" "$rc")")
    done
  fi
  rm -rf "$art" "$out"
  local IFS='|'
  echo "$name|${verdicts[*]}" >"$log/rows/$name"
}

# models: fp32 and bf16.
found=0
for dir in "$models"/*/; do
  model=$(basename "$dir")
  data=$dir/test_data_set_0
  [[ -f $dir/model.onnx && -d $data ]] || fail_setup "$dir has no model.onnx + test_data_set_0"
  shapes=$(python3 "$here/pb_flags.py" --shape "$data") || fail_setup "cannot read the inputs of $data"
  inputs=$(python3 "$here/pb_flags.py" --input "$data") || fail_setup "cannot read the inputs of $data"
  pool_run sanitize_target "model-$model-fp32" "$dir/model.onnx" "$shapes" "$inputs"
  pool_run sanitize_target "model-$model-bf16" "$dir/model.onnx" "$shapes --dtype=bf16" "$inputs"
  found=$((found + 1))
done
((found > 0)) || fail_setup "no model found in $models"

# decode: split-KV partial + combine, and one FlashAttention-2 kernel.
python3 "$here/make_decode_case.py" "$work/decode" 2 8 2 1024 128 || fail_setup "make_decode_case.py failed"
decode_inputs="--input q=$work/decode/q.pb --input k=$work/decode/k.pb --input v=$work/decode/v.pb"
pool_run sanitize_target decode-split-kv "$work/decode/decode.onnx" --remarks "$decode_inputs" "split attention: num_splits="
pool_run sanitize_target decode-fa2 "$work/decode/decode.onnx" --split-kv-decode=false "$decode_inputs"

# lora: fused epilogues.
python3 "$repo/test/lit/Inputs/lora_cases.py" make "$work/lora" || fail_setup "lora_cases.py make failed"
for c in qkv gpt2; do
  inputs=""
  for f in "$work/lora/$c"/*.npy; do inputs+=" --input $(basename "$f" .npy)=$f"; done
  [[ -n $inputs ]] || fail_setup "lora_cases.py wrote no input for $c"
  pool_run sanitize_target "lora-$c-fp32" "$work/lora/$c.mlir" "" "$inputs"
  pool_run sanitize_target "lora-$c-bf16" "$work/lora/$c.mlir" --dtype=bf16 "$inputs"
done

# ops: every single-op case.
python3 "$here/gen_op_cases.py" "$work/ops" || fail_setup "gen_op_cases.py failed"
ops=0
for dir in "$work"/ops/*/; do
  inputs=$(python3 "$here/pb_flags.py" --input "$dir/test_data_set_0") || fail_setup "cannot read the inputs of $dir"
  pool_run sanitize_target "op-$(basename "$dir")" "$dir/model.onnx" "" "$inputs"
  ops=$((ops + 1))
done
((ops > 0)) || fail_setup "gen_op_cases.py wrote no case"
pool_wait

failed=0 targets=0
for row in "$log"/rows/*; do
  targets=$((targets + 1))
  if grep -q 'FAIL' "$row"; then
    failed=$((failed + 1))
    name=$(basename "$row")
    echo "--- $name:"
    for f in "$log/$name".*.log; do echo "[$(basename "$f")]"; grep -E '=========|error|FAIL' "$f" | head -15; done
  fi
done
echo
echo "=== compute_sanitizer summary (logs: $log)"
printf '%-32s' target; printf ' %-22s' "${tools[@]}"; echo
for row in "$log"/rows/*; do
  IFS='|' read -r -a cols <"$row"
  printf '%-32s' "${cols[0]}"; printf ' %-22s' "${cols[@]:1}"; echo
done
if ((failed > 0)); then
  echo "compute_sanitizer: $failed of $targets artifacts FAILED (${tools[*]})"
  exit 1
fi
echo "compute_sanitizer: all $targets artifacts clean under ${tools[*]}"
