#!/usr/bin/env bash
# End-to-end check of one model in the ONNX backend-test layout:
# compile with effc, run on a backend with effc-run, compare with the reference.
#   test/e2e/run_model.sh MODEL_DIR BIN_DIR [BACKEND] [effc args...] [-- effc-run args...]
# e.g. ... host --dtype=bf16 -- --rtol 1.8e-2 --row-rtol 2.1e-2
# TEST_DATA_SET=test_data_set_1 picks another reference (default test_data_set_0).
set -euo pipefail
model_dir=$1; bin_dir=$2; backend=${3:-host}; shift $(( $# < 3 ? $# : 3 ))
effc_args=(); run_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then shift; run_args=("$@"); break; fi
  effc_args+=("$1"); shift
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# --shape flags from the reference inputs' dims (each input_*.pb carries name
# + dims). No python onnx or no inputs fails the test (set -e) instead of
# guessing a shape.
data_set=${TEST_DATA_SET:-test_data_set_0}
shape=$(python3 - "$model_dir/$data_set" <<'PY'
import sys, glob
try:
    import onnx
except ImportError as e:
    sys.exit(f"run_model.sh: {sys.executable} cannot import onnx ({e}); tools/setup.sh installs it")
files = sorted(glob.glob(sys.argv[1] + "/input_*.pb"))
if not files:
    sys.exit(f"run_model.sh: no input_*.pb in {sys.argv[1]}")
for f in files:
    t = onnx.TensorProto(); t.ParseFromString(open(f, "rb").read())
    print(f"--shape {t.name}={'x'.join(str(d) for d in t.dims)}", end=" ")
PY
)
# shellcheck disable=SC2086
"$bin_dir/effc" "$model_dir/model.onnx" $shape -o "$work/model.effc" ${effc_args[@]+"${effc_args[@]}"}
"$bin_dir/effc-run" "$work/model.effc" --backend="$backend" --test-data "$model_dir/$data_set" --stats \
  ${run_args[@]+"${run_args[@]}"}
