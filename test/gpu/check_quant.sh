#!/usr/bin/env bash
# Quantized models on a GPU machine: every ../shared/quant model (ORT's
# quantizers' output, raised to eff.quant_linear) on the cuda backend:
#   fp32   2x16, the tiled quant_linear kernel, against ORT's output at
#          rtol 1e-3 (llama-qdq4: 1.2e-2, ORT's own output is that far from
#          the exact result, see test/CMakeLists.txt)
#   bf16   2x16 with --dtype=bf16 against ORT's output at rtol 3e-2 (the host
#          backend measures at most 1.9e-2, dynamic int8 being the worst)
#   decode 1x4, the GEMV kernel, on random inputs against the host backend's
#          output of the same artifact at rtol 1e-4 (dynamic int8: 1e-3, one
#          activation code rounded the other way moves an output that much)
#   test/gpu/check_quant.sh [BIN_DIR] [QUANT_DIR]
# EFFC_JOBS runs at once (default: half the cores); logs go to
# ${OUT:-/tmp}/check_quant. Prints one line per (model, config) and a
# summary; exit 1 on any FAIL or when QUANT_DIR holds no model.
set -uo pipefail
me=check_quant
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
bin_dir=${1:-$repo/build/bin}
quant_dir=${2:-$repo/../shared/quant}
need_exec "$bin_dir/effc" "$bin_dir/effc-run"
need_dir "$quant_dir" "quantized models directory"
log=${OUT:-/tmp}/check_quant; rm -rf "$log"; mkdir -p "$log/rows"
arts=$(mktemp -d); trap 'rm -rf "$arts"' EXIT

# run_one MODEL_DIR CONFIG: one check; its row goes to $log/rows/, its output
# to $log/MODEL.CONFIG.log.
run_one() {
  local model_dir=$1 config=$2 model status=PASS errs tag art
  model=$(basename "$model_dir"); tag=$model.$config; art=$arts/$tag.effc
  {
    case $config in
      fp32 | bf16)
        local rtol=1e-3 flags=() tol=()
        [ "$model" = llama-qdq4 ] && rtol=1.2e-2
        [ "$config" = bf16 ] && rtol=3e-2 flags=(--dtype=bf16) tol=(--row-rtol 5e-2)
        "$bin_dir/effc" "$model_dir/model.onnx" --shape input_ids=2x16 "${flags[@]}" -o "$art" &&
          "$bin_dir/effc-run" "$art" --backend=cuda --test-data "$model_dir/test_data_set_0" \
            --rtol "$rtol" "${tol[@]}"
        ;;
      decode)
        local rtol=1e-4
        [[ $model == *-dyn8 ]] && rtol=1e-3
        mkdir -p "$arts/$tag.ref" &&
          "$bin_dir/effc" "$model_dir/model.onnx" --shape input_ids=1x4 -o "$art" &&
          "$bin_dir/effc-run" "$art" --backend=host --random-inputs 7 \
            --save-test-data "$arts/$tag.ref" >/dev/null &&
          "$bin_dir/effc-run" "$art" --backend=cuda --test-data "$arts/$tag.ref" --rtol "$rtol"
        ;;
    esac
  } >"$log/$tag.log" 2>&1 || status=FAIL
  errs=$(grep -o 'max_rel_err=[0-9.e+-]*' "$log/$tag.log" | sed 's/max_rel_err=//' | tr '\n' ' ')
  [[ $status == PASS && -z $errs ]] && status="FAIL(no comparison printed)"
  printf '%-15s %-6s %-5s max_rel_err: %s\n' "$model" "$config" "$status" "$errs" >"$log/rows/$tag"
}

models=0
for model_dir in "$quant_dir"/*/; do
  for f in model.onnx test_data_set_0; do
    [[ -e $model_dir/$f ]] || fail_setup "$model_dir has no $f (expected the ../shared/quant layout)"
  done
  models=$((models + 1))
  for config in fp32 bf16 decode; do
    pool_run run_one "${model_dir%/}" "$config"
  done
done
pool_wait
((models > 0)) || fail_setup "no model found in $quant_dir"
report_rows "$log" "quantized GPU check" "$models"
