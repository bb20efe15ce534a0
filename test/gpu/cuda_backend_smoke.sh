#!/usr/bin/env bash
# GPU smoke test of the cuda backend (run on the GPU machine):
#   test/gpu/cuda_backend_smoke.sh [BUILD_DIR]        (default: build-cuda)
# BUILD_DIR needs test/unit/effc-runtime-tests, bin/effc-run and
# bin/effc-nvrtc-check (static builds carried from the dev machine work).
#  1. the CudaGpu gtests: host vs cuda on a hand-built artifact (add, mul via
#     an ALIAS, 64 KiB dynamic shared memory), graph capture then replay,
#     eager + profiled runs, embedded cubin, 4 threads, error messages;
#  2. effc-nvrtc-check on that artifact for sm_80,sm_90;
#  3. effc-run --backend=cuda vs --backend=host on it: outputs byte-identical;
#     then effc-run --bench.
# EFFC_SMOKE_NO_GPU=1 runs only the parts that need no GPU (to try the script).
# The gtest log goes to ${OUT:-/tmp}/cuda-backend-smoke.
set -euo pipefail
BUILD=${1:-build-cuda}
TESTS=$BUILD/test/unit/effc-runtime-tests
RUN=$BUILD/bin/effc-run
CHECK=$BUILD/bin/effc-nvrtc-check
for f in "$TESTS" "$RUN" "$CHECK"; do
  [[ -x $f ]] || { echo "cuda_backend_smoke: missing $f (build it first)" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LOG=${OUT:-/tmp}/cuda-backend-smoke; mkdir -p "$LOG"
export XDG_CACHE_HOME=$WORK/cache   # a cold NVRTC cache, then warm
NO_GPU=${EFFC_SMOKE_NO_GPU:-0}

echo "== 1. gtests (Cuda*)"
if [[ $NO_GPU == 1 ]]; then
  EFFC_SMOKE_DIR=$WORK "$TESTS" --gtest_filter='Cuda*' --gtest_brief=1
else
  EFFC_TEST_GPU=1 EFFC_SMOKE_DIR=$WORK "$TESTS" --gtest_filter='Cuda*' | tee "$LOG/gtest.log"
  # The GPU tests must have run, not skipped, and the filter must match some.
  if grep -q '^\[  SKIPPED \] CudaGpu' "$LOG/gtest.log"; then
    echo "cuda_backend_smoke: CudaGpu tests were skipped (no driver/device?)" >&2
    exit 1
  fi
  if ! grep -q '^\[ RUN      \] CudaGpu' "$LOG/gtest.log"; then
    echo "cuda_backend_smoke: no CudaGpu test ran" >&2
    exit 1
  fi
fi

echo "== 2. effc-nvrtc-check"
"$CHECK" "$WORK/smoke.effc" --arch=sm_80,sm_90

echo "== 3. effc-run host vs cuda"
mkdir -p "$WORK/host" "$WORK/cuda"
"$RUN" "$WORK/smoke.effc" --backend=host --input x="$WORK/x.npy" --output-dir "$WORK/host"
if [[ $NO_GPU == 1 ]]; then
  if "$RUN" "$WORK/smoke.effc" --backend=cuda --input x="$WORK/x.npy" --output-dir "$WORK/cuda" 2>"$WORK/err"; then
    echo "cuda_backend_smoke: cuda backend ran without a GPU?" >&2; exit 1
  fi
  echo "expected error without a GPU: $(cat "$WORK/err")"
  echo "cuda_backend_smoke: host-only parts PASSED"
  exit 0
fi
"$RUN" "$WORK/smoke.effc" --backend=cuda --input x="$WORK/x.npy" --output-dir "$WORK/cuda" -v
for f in "$WORK"/host/*.npy; do
  name=$(basename "$f")
  cmp "$f" "$WORK/cuda/$name" || { echo "cuda_backend_smoke: output $name differs between host and cuda" >&2; exit 1; }
  echo "output ${name%.npy}: identical"
done
"$RUN" "$WORK/smoke.effc" --backend=cuda --input x="$WORK/x.npy" --bench 200
echo "cuda_backend_smoke: PASSED"
