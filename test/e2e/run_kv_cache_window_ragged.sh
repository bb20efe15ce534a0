#!/usr/bin/env bash
# effc --kv-cache (no paging) on sliding-window attention with rows of
# different lengths: ../shared/zoo/gemma3-dynamo (two local layers, window 8)
# with two 18-token prompts and 16 new tokens. The KV-cache runtime keeps one
# cache length per batch and right-pads the shorter rows, so a window counted
# over cache slots would count the padding; eff-kv-cache must read the
# window at token positions (remarks), and every request of the serving
# engine's unpaged path (--stagger: row 1 joins later, so one forward holds
# rows of different lengths) must give the tokens of the compile without a
# cache (make_generate_ref.py). Before the fix: 17-22/32 tokens. Prompts of
# different lengths in one Generator call (PastStepModel) are checked by
# test/python/test_kv_cache_window.py. The CUDA kernels go through NVRTC.
#   test/e2e/run_kv_cache_window_ragged.sh MODEL_DIR BIN_DIR [BACKEND]
set -euo pipefail
model_dir=$1; bin_dir=$2; backend=${3:-host}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
expect() { grep -q "$1" "$work/out.txt" || { echo "expected a line matching '$1'"; exit 1; }; }

# The zoo model with two 18-token prompts (fixed ids) as its test_data_set_0.
mkdir -p "$work/m/test_data_set_0"
ln -s "$(realpath "$model_dir/model.onnx")" "$work/m/model.onnx"
python3 - "$work/m/test_data_set_0/input_0.pb" <<'EOF'
import sys
import numpy as np
from onnx import numpy_helper
ids = np.random.default_rng(7).integers(1, 256, size=(2, 18)).astype(np.int64)
open(sys.argv[1], "wb").write(numpy_helper.from_array(ids, "input_ids").SerializeToString())
EOF
python3 "$here/make_generate_ref.py" "$work/m" "$bin_dir" 16 "$work/ref"
model=$work/ref/model.onnx ref=$work/ref/generate_0

"$bin_dir/effc" "$model" --kv-cache --dim batch=2 --dim seq=1..32 --dim past=0..255 \
  --dim total=1..288 --remarks -o "$work/cache.effc" 2>&1 >/dev/null | tee "$work/out.txt"
for layer in 0 1; do
  expect "kv-cache: attention over past_key_values.$layer.key/value .* read at each row's token positions"
done

run() { # effc-run args...: every row gives its reference tokens
  "$bin_dir/effc-run" "$work/cache.effc" --backend="$backend" --generate 16 --test-data "$ref" "$@" |
    tee "$work/out.txt"
  expect '^tokens: 32/32 match$'
}
run
for stagger in 1 2 5; do
  run --stagger $stagger
  expect "^row 1: submitted at step $stagger"
done
"$bin_dir/effc-nvrtc-check" "$work/cache.effc" --arch=sm_80,sm_90,sm_90a | tee "$work/out.txt"
expect '^sm_90a: [0-9]* kernels compiled'
