#!/usr/bin/env bash
# Per-kernel-family numerics of the generated CUDA code: small single-op
# models (gen_op_cases.py) compiled by effc, run on the host backend (the
# reference semantics) and on the cuda backend, compared output by output.
#
#   test/gpu/check_ops.sh [BIN_DIR] [RTOL]
# Needs python3 with onnx + numpy. Exit 1 if any case fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=${1:-$repo/build/bin}
rtol=${2:-1e-4}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 "$here/gen_op_cases.py" "$work/cases" || exit 1

failed=()
for dir in "$work"/cases/*/; do
  name=$(basename "$dir")
  data="$dir/test_data_set_0"
  if ! "$bin_dir/effc" "$dir/model.onnx" -o "$dir/model.effc" 2>"$dir/effc.log" ||
     grep -q "no CUDA kernel" "$dir/effc.log"; then
    echo "FAIL $name: effc"; cat "$dir/effc.log"; failed+=("$name"); continue
  fi
  # Reference outputs from the host backend, as output_<i>.pb in graph order.
  mkdir -p "$dir/host"
  if ! "$bin_dir/effc-run" "$dir/model.effc" --backend=host --test-data "$data" --output-dir "$dir/host" \
       >/dev/null 2>"$dir/host.log" && ! ls "$dir"/host/*.npy >/dev/null 2>&1; then
    echo "FAIL $name: host backend"; cat "$dir/host.log"; failed+=("$name"); continue
  fi
  python3 - "$dir" <<'PY' || { echo "FAIL $name: reference"; failed+=("$name"); continue; }
import sys, numpy as np, onnx
from onnx import numpy_helper
d = sys.argv[1]
m = onnx.load(d + "/model.onnx")
for i, o in enumerate(m.graph.output):
    a = np.load(f"{d}/host/{o.name}.npy")
    open(f"{d}/test_data_set_0/output_{i}.pb", "wb").write(numpy_helper.from_array(a, o.name).SerializeToString())
PY
  tol=$rtol
  case "$name" in *fp16*|*f16*) tol=2e-3 ;; esac
  if out=$("$bin_dir/effc-run" "$dir/model.effc" --backend=cuda --test-data "$data" --rtol "$tol" 2>&1); then
    echo "PASS $name  $(echo "$out" | grep -o 'max_rel_err=[^ ]*' | tr '\n' ' ')"
  else
    echo "FAIL $name: $out"; failed+=("$name")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "check_ops: ${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
echo "check_ops: all passed"
