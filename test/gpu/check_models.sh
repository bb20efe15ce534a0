#!/usr/bin/env bash
# Numerics of the generated CUDA kernels on a GPU machine: every shared model
# is compiled with effc, its kernels are JIT-compiled by the cuda backend and
# run against the model's reference outputs.
#
#   test/gpu/check_models.sh [BIN_DIR] [MODELS_DIR] [RTOL]
#     BIN_DIR     effc + effc-run (default: build/bin next to this script's repo)
#     MODELS_DIR  ONNX backend-test layout dirs (default: ../shared/models)
#     RTOL        max_rel_err bound (default 1e-4: fp32 FFMA kernels; use 1e-3
#                 once GEMMs use TF32 tensor cores)
# Also runs the host backend on the same artifact, so a failure says whether
# the artifact or the CUDA kernels are at fault. Exit 1 if any model fails.
# EFFC_ARTIFACTS=DIR reuses DIR/<model>.effc instead of running effc (for a
# GPU machine that only has effc-run).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=${1:-$repo/build/bin}
models_dir=${2:-$repo/../shared/models}
rtol=${3:-1e-4}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

shape_flags() {
  # --shape NAME=DxD from the reference inputs (needs python3 + onnx), else
  # the shape every shared model's reference uses.
  python3 - "$1" <<'PY' 2>/dev/null || echo "--shape input_ids=2x16"
import sys, glob, onnx
flags = []
for f in sorted(glob.glob(sys.argv[1] + "/input_*.pb")):
    t = onnx.TensorProto(); t.ParseFromString(open(f, "rb").read())
    flags.append(f"--shape {t.name}={'x'.join(str(d) for d in t.dims)}")
print(" ".join(flags) or "--shape input_ids=2x16")
PY
}

failed=()
for dir in "$models_dir"/*/; do
  model=$(basename "$dir")
  [ -f "$dir/model.onnx" ] || [ -n "${EFFC_ARTIFACTS:-}" ] || continue
  data="$dir/test_data_set_0"
  echo "=== $model"
  if [ -n "${EFFC_ARTIFACTS:-}" ]; then
    artifact="$EFFC_ARTIFACTS/$model.effc"
  else
    artifact="$work/$model.effc"
    # shellcheck disable=SC2046
    if ! "$bin_dir/effc" "$dir/model.onnx" $(shape_flags "$data") -o "$artifact"; then
      echo "FAIL $model: effc"; failed+=("$model"); continue
    fi
  fi
  if ! "$bin_dir/effc-run" "$artifact" --backend=cuda --test-data "$data" --rtol "$rtol"; then
    echo "FAIL $model: cuda backend (host backend on the same artifact:)"
    "$bin_dir/effc-run" "$artifact" --backend=host --test-data "$data" --rtol "$rtol" || true
    failed+=("$model")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "check_models: ${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
echo "check_models: all passed (rtol $rtol)"
