#!/usr/bin/env bash
# Every shared model on the GPU with the cuda backend, in one run:
#   fp32         rtol 1e-4 (fp32 kernels are FFMA: GEMMs, attention, fusions)
#   bf16         --dtype=bf16, rtol 2e-2 (tensor-core GEMMs, FlashAttention-2)
#   fp32-fa2     INFO only, not a failure: fp32 with FlashAttention-2 forced on
#                (EFFC_FA2_F32=1: f32 q/k/v rounded to f16 for mma.sync) at
#                rtol 1e-3, the tolerance tensor-core kernels get; its
#                max_rel_err says whether FA2 could serve fp32 at 1e-4 too
# Each config runs for every test_data_set_N of the model (rows of sets
# other than 0 are named CONFIG-setN): compiled by effc for that set's shapes,
# its kernels compiled by NVRTC for sm_80 and sm_90 (effc-nvrtc-check), and
# run against the set's reference outputs.
# compute-sanitizer runs are test/gpu/sanitize.sh.
#
#   test/gpu/check_all.sh [BIN_DIR]
#     BIN_DIR      effc, effc-run, effc-nvrtc-check (static builds carried from
#                  the dev machine; default: build/bin of this repo)
#     EFFC_MODELS  ONNX backend-test layout dirs (default: ../shared/models
#                  next to the repo); every subdirectory must be a model
#     EFFC_JOBS    configs checked at once (default: half the cores)
#     OUT          logs go to $OUT/check_all (default /tmp/check_all)
# Prints a summary table last; exits 1 if any checked row fails or no model
# is found.
set -uo pipefail
me=check_all
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
bin=${1:-$repo/build/bin}
models=${EFFC_MODELS:-$repo/../shared/models}
need_exec "$bin/effc" "$bin/effc-run" "$bin/effc-nvrtc-check"
need_dir "$models" "models directory (EFFC_MODELS)"
need_cmd python3
work=${OUT:-/tmp}/check_all                    # logs (small: they come back from $OUT)
arts=$(mktemp -d); trap 'rm -rf "$arts"' EXIT  # artifacts (MiBs each)
rm -rf "$work"; mkdir -p "$work/rows"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "(nvidia-smi not available)"

# worst max_rel_err over the cuda run's "output NAME: ... max_rel_err=R ..."
# lines (the host backend's lines are prefixed "host: ").
worst_err() { grep '^output ' "$1" | grep -o 'max_rel_err=[^ ]*' | cut -d= -f2 | sort -g | tail -1; }

# check MODEL CONFIG RTOL REQUIRED SET [effc args...]: compile for the shapes
# of MODEL/test_data_set_SET, nvrtc-check, run on cuda against that set;
# writes the row "model|config|rtol|max_rel_err|status|required" to
# $work/rows/MODEL.CONFIG and everything it ran to $work/MODEL.CONFIG.log
# (CONFIG gets "-setSET" for sets other than 0).
# shellcheck disable=SC2086  # $shapes: several flags
check() {
  local model=$1 config=$2 rtol=$3 required=$4 set=$5; shift 5
  local dir=$models/$model data=$models/$model/test_data_set_$set
  ((set == 0)) || config="$config-set$set"
  local art=$arts/$model.$config.effc log=$work/$model.$config.log status err shapes
  {
    echo "=== $model [$config] rtol $rtol"
    if ! shapes=$(python3 "$here/pb_flags.py" --shape "$data" 2>&1); then
      echo "$shapes"; status="FAIL(inputs)"
    elif ! "$bin/effc" "$dir/model.onnx" $shapes "$@" -o "$art" 2>&1; then
      status="FAIL(effc)"
    elif [[ ! -f $art ]]; then
      status="FAIL(no artifact)"
    elif ! "$bin/effc-nvrtc-check" "$art" --arch=sm_80,sm_90 2>&1; then
      status="FAIL(nvrtc)"
    elif "$bin/effc-run" "$art" --backend=cuda --test-data "$data" --rtol "$rtol" 2>&1; then
      status=PASS
    else
      status="FAIL(cuda)"
      echo "--- host backend on the same artifact (is the artifact or are the CUDA kernels at fault?):"
      "$bin/effc-run" "$art" --backend=host --test-data "$data" --rtol "$rtol" 2>&1 | sed 's/^/host: /'
    fi
  } >"$log" 2>&1
  # effc reports a kernel it could not generate as a warning, not an error.
  [[ $status == PASS ]] && grep -q "no CUDA kernel" "$log" && status="FAIL(no-cuda-source)"
  err=$(worst_err "$log"); err=${err:--}
  [[ $status == PASS && $err == - ]] && status="FAIL(no comparison printed)"
  if [[ $config == fp32-fa2* && $err != - ]]; then
    status="$status (at 1e-4: $(awk -v e="$err" 'BEGIN{print (e + 0 <= 1e-4) ? "would pass" : "would fail"}'))"
  fi
  rm -f "$art"
  echo "$model|$config|$rtol|$err|$status|$required" >"$work/rows/$model.$config"
}

found=0
for dir in "$models"/*/; do
  model=$(basename "$dir")
  if [[ ! -f $dir/model.onnx || ! -d $dir/test_data_set_0 ]]; then
    echo "$model|-|-|-|FAIL(no model.onnx + test_data_set_0 in $dir)|1" >"$work/rows/$model.layout"
    continue
  fi
  found=$((found + 1))
  # Every data set (the zoo has two shapes per model: 2x16 and 1x37).
  for set_dir in "$dir"test_data_set_*/; do
    set=${set_dir%/}; set=${set##*_}
    pool_run check "$model" fp32 1e-4 1 "$set"
    pool_run check "$model" bf16 2e-2 1 "$set" --dtype=bf16
    if ((set == 0)); then EFFC_FA2_F32=1 pool_run check "$model" fp32-fa2 1e-3 0 0; fi
  done
done
pool_wait
((found > 0)) || fail_setup "no model found in $models (expected <model>/model.onnx and <model>/test_data_set_0)"

failed=0
for log in "$work"/*.log; do cat "$log"; done
echo
echo "=== check_all summary (logs: $work)"
printf '%-16s %-14s %-6s %-24s %s\n' model config rtol max_rel_err status
for row in "$work"/rows/*; do
  IFS='|' read -r m c t e s required <"$row"
  if [[ $s != PASS* && $required == 0 ]]; then
    s="INFO:$s"
  elif [[ $s != PASS* ]]; then
    failed=1
  fi
  printf '%-16s %-14s %-6s %-24s %s\n' "$m" "$c" "$t" "$e" "$s"
done
if [[ $failed != 0 ]]; then
  echo "check_all: FAILED"
  exit 1
fi
echo "check_all: all checked rows passed ($found models)"
