#!/usr/bin/env bash
# Per-kernel-family numerics of the generated CUDA code: small single-op
# models (gen_op_cases.py) compiled by effc, run on the host backend (the
# reference semantics) and on the cuda backend, compared output by output.
#
#   test/gpu/check_ops.sh [BIN_DIR] [RTOL]
# Needs python3 with onnx + numpy. EFFC_JOBS cases run at once (default: half
# the cores); logs go to ${OUT:-/tmp}/check_ops. Exit 1 if any case fails or
# no case was generated.
set -uo pipefail
me=check_ops
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
bin=${1:-$repo/build/bin}
rtol=${2:-1e-4}
need_exec "$bin/effc" "$bin/effc-run"
need_python numpy onnx
log=${OUT:-/tmp}/check_ops; rm -rf "$log"; mkdir -p "$log/results"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 "$here/gen_op_cases.py" "$work/cases" || fail_setup "gen_op_cases.py failed"

# check_case NAME: writes $log/results/NAME ("PASS ..." or "FAIL ...") and
# $log/NAME.log.
check_case() {
  local name=$1 dir=$work/cases/$1 result tol inputs out rc
  local data=$dir/test_data_set_0 caselog=$log/$1.log
  (
    "$bin/effc" "$dir/model.onnx" -o "$dir/model.effc" >"$dir/effc.log" 2>&1
    rc=$?
    cat "$dir/effc.log"
    ((rc == 0)) || { echo "FAIL $name: effc"; exit; }
    # effc reports a kernel it could not generate as a warning.
    grep -q "no CUDA kernel" "$dir/effc.log" && { echo "FAIL $name: no CUDA kernel"; exit; }
    inputs=$(python3 "$here/pb_flags.py" --input "$data") || { echo "FAIL $name: inputs"; exit; }
    # Reference outputs from the host backend, as output_<i>.pb in graph order.
    mkdir -p "$dir/host"
    # shellcheck disable=SC2086
    "$bin/effc-run" "$dir/model.effc" --backend=host $inputs --output-dir "$dir/host" ||
      { echo "FAIL $name: host backend"; exit; }
    python3 - "$dir" <<'PY' || { echo "FAIL $name: reference"; exit; }
import sys, numpy as np, onnx
from onnx import numpy_helper
d = sys.argv[1]
m = onnx.load(d + "/model.onnx")
for i, o in enumerate(m.graph.output):
    a = np.load(f"{d}/host/{o.name}.npy")
    open(f"{d}/test_data_set_0/output_{i}.pb", "wb").write(numpy_helper.from_array(a, o.name).SerializeToString())
PY
    tol=$rtol
    case "$name" in *fp16* | *f16*) tol=2e-3 ;; esac
    if out=$("$bin/effc-run" "$dir/model.effc" --backend=cuda --test-data "$data" --rtol "$tol" 2>&1); then
      echo "$out"
      echo "PASS $name  $(echo "$out" | grep -o 'max_rel_err=[^ ]*' | tr '\n' ' ')"
    else
      echo "$out"
      echo "FAIL $name: cuda backend"
    fi
  ) >"$caselog" 2>&1
  # The verdict is the last line of the case's log.
  result=$(tail -1 "$caselog")
  [[ $result == PASS* || $result == FAIL* ]] || result="FAIL $name: no verdict (see $caselog)"
  echo "$result" >"$log/results/$name"
}

cases=0
for dir in "$work"/cases/*/; do
  cases=$((cases + 1))
  pool_run check_case "$(basename "$dir")"
done
pool_wait
((cases > 0)) || fail_setup "gen_op_cases.py wrote no case to $work/cases"

failed=()
for r in "$log"/results/*; do
  cat "$r"
  read -r verdict _ <"$r"
  [[ $verdict == PASS ]] || failed+=("$(basename "$r")")
done
if [ ${#failed[@]} -ne 0 ]; then
  for name in "${failed[@]}"; do echo "--- $name:"; tail -20 "$log/$name.log"; done
  echo "check_ops: ${#failed[@]} of $cases failed: ${failed[*]}"
  exit 1
fi
echo "check_ops: all $cases cases passed"
