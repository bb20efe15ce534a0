#!/usr/bin/env bash
# LoRA numerics on a GPU machine: every ../shared/lora/<arch> model, base,
# merged, unmerged and with two indexed adapters (a mixed batch), on the cuda
# backend against the PEFT references (test/e2e/run_lora.py): fp32 within
# 1e-3, bf16 within 2e-2.
#   test/gpu/check_lora.sh [BIN_DIR] [LORA_DIR]
# EFFC_JOBS runs at once (default: half the cores); logs go to
# ${OUT:-/tmp}/check_lora. Prints one line per (model, dtype, mode) and a
# summary; exit 1 on any FAIL or when LORA_DIR holds no model.
set -uo pipefail
me=check_lora
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
bin_dir=${1:-$repo/build/bin}
lora_dir=${2:-$repo/../shared/lora}
need_exec "$bin_dir/effc" "$bin_dir/effc-run"
need_dir "$lora_dir" "LoRA models directory"
need_cmd python3
log=${OUT:-/tmp}/check_lora; rm -rf "$log"; mkdir -p "$log/rows"

# run_one MODEL_DIR DTYPE MODE: one run_lora.py check; its row goes to
# $log/rows/, its output to $log/MODEL.DTYPE.MODE.log.
run_one() {
  local model_dir=$1 dtype=$2 mode=$3 model rtol=1e-3 status=PASS errs tag
  model=$(basename "$model_dir"); tag=$model.$dtype.$mode
  [ "$dtype" = bf16 ] && rtol=2e-2
  python3 "$repo/test/e2e/run_lora.py" "$model_dir" "$bin_dir" "$mode" --backend cuda \
    --dtype "$dtype" --rtol "$rtol" >"$log/$tag.log" 2>&1 || status=FAIL
  errs=$(grep -o 'max_rel_err=[0-9.e+-]*' "$log/$tag.log" | sed 's/max_rel_err=//' | tr '\n' ' ')
  [[ $status == PASS && -z $errs ]] && status="FAIL(no comparison printed)"
  printf '%-8s %-5s %-9s %-5s max_rel_err: %s\n' "$model" "$dtype" "$mode" "$status" "$errs" >"$log/rows/$tag"
}

models=0
for model_dir in "$lora_dir"/*/; do
  for f in model.onnx adapter test_data_set_0 lora_test_data_set_0; do
    [[ -e $model_dir/$f ]] || fail_setup "$model_dir has no $f (expected the ../shared/lora layout)"
  done
  models=$((models + 1))
  for dtype in fp32 bf16; do
    for mode in base merged unmerged indexed; do
      pool_run run_one "${model_dir%/}" "$dtype" "$mode"
    done
  done
done
pool_wait
((models > 0)) || fail_setup "no model found in $lora_dir"

report_rows "$log" "LoRA GPU check" "$models"
