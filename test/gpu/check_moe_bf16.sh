#!/bin/bash
# The CUDA twin of lit driver/moe-bf16-stages.test: two bf16 eff.moe layers
# (test/lit/Inputs/moe_bf16_layer.py; 130 tokens through the grouped
# tensor-core kernels with a gated shared expert, 5 through the decode GEMV)
# whose inputs are the graph inputs, so host and CUDA route the same bf16 x
# (no upstream kernels to tip a routing near-tie, unlike the model cases of
# cases/moe-stages.txt).
#   test/gpu/check_moe_bf16.sh stage DEST [--arch sm_90a]   (dev machine)
#   bash DEST/check_moe_bf16.sh run DEST                    (GPU machine)
# run: 1. CUDA vs the host backend's output on the same inputs, --rtol 8e-3:
# both round where the stages define (h and y in bf16), each within half a
# bf16 ulp of y plus the step of a boundary h of the exact value (the lit
# test measures the host at 2.4e-3 of max|y|), so they differ by at most one
# ulp at max|y| (2^-7 = 7.8e-3). 2. where python3 has numpy and onnx, the
# CUDA outputs against the numpy reference element by element (as lit).
set -euo pipefail
mode=$1 dest=$2
if [ "$mode" = stage ]; then
  arch=sm_90a
  [ "${3:-}" = --arch ] && arch=$4
  repo=$(cd "$(dirname "$0")/../.." && pwd)
  rm -rf "$dest" && mkdir -p "$dest/host"
  python3 "$repo/test/lit/Inputs/moe_bf16_layer.py" gen "$dest"
  "$repo/build/bin/effc" "$dest/layer.mlir" --embed-cubin --arch="$arch" -o "$dest/layer.effc"
  "$repo/build/bin/effc-run" "$dest/layer.effc" --backend=host --random-inputs 5 --save-test-data "$dest/host"
  strip -o "$dest/effc-run" "$repo/build/bin/effc-run"
  cp "$0" "$repo/test/lit/Inputs/moe_bf16_layer.py" "$dest/"
  echo "staged $dest"
  exit 0
fi
cd "$dest"
rm -rf cuda && mkdir cuda
./effc-run layer.effc --backend=cuda --test-data host --rtol 8e-3 --input input_0=host/input_0.pb \
  --input input_1=host/input_1.pb --save-test-data cuda
if python3 -c 'import numpy, onnx' 2>/dev/null; then
  python3 moe_bf16_layer.py check . cuda
else
  echo "check_moe_bf16: numpy/onnx missing, element-wise check skipped (the host comparison above ran)"
fi
