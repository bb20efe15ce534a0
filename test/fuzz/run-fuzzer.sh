#!/usr/bin/env bash
# Builds and runs the ONNX importer fuzzer (tools/effc-fuzz) for a bounded time.
#
#   test/fuzz/run-fuzzer.sh [SECONDS]      (default 600)
#
# Build: a separate dir build-fuzz configured with clang-19, ASan and
# libFuzzer instrumentation (the main build uses g++). Corpus: build-fuzz/corpus,
# seeded with the shared models, some ONNX node-test models and the lit
# importer tests' text-format models. Crashes land in build-fuzz/crashes/.
# Reproduce one with: build-fuzz/bin/effc-fuzz build-fuzz/crashes/crash-...
set -euo pipefail
SECONDS_TO_RUN=${1:-600}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${EFFC_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SHARED=${EFFC_SHARED_DIR:-$(dirname "$ROOT")/shared}
JOBS=${EFFC_FUZZ_JOBS:-2}

if [ ! -f "$BUILD/build.ninja" ]; then
  SAN="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer -gline-tables-only"
  CC=clang-19 CXX=clang++-19 cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DLLVM_DIR=/usr/lib/llvm-19/lib/cmake/llvm -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
    -DEFFC_BUILD_FUZZERS=ON -DEFFC_STATIC_TOOLS=OFF -DEFFC_BUILD_TESTS=OFF \
    -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address" >/dev/null
fi
nice cmake --build "$BUILD" --target effc-fuzz -j "$JOBS"

CORPUS=$BUILD/corpus
SEEDS=$BUILD/seeds
mkdir -p "$CORPUS" "$SEEDS" "$BUILD/crashes"
if [ -z "$(ls -A "$SEEDS")" ]; then
  for m in "$SHARED"/models/*/model.onnx; do
    [ -f "$m" ] && cp "$m" "$SEEDS/$(basename "$(dirname "$m")").onnx"
  done
  NODE=/usr/share/libonnx-testdata/data/node
  if [ -d "$NODE" ]; then
    for c in add matmul gemm_default_no_bias reshape_negative_dim softmax_axis_1 \
             slice split_equal_parts_1d squeeze unsqueeze_axis_0 layer_normalization_2d_axis0 \
             reduce_mean_default_axes_keepdims_example concat_2d_axis_0 gather_0 transpose_default \
             where_example cast_FLOAT_to_FLOAT16 range_float_type_positive_delta \
             constantofshape_float_ones expand_dim_changed top_k clip_default_min \
             cumsum_1d shape gelu_default_1 attention_4d attention_3d_gqa; do
      [ -f "$NODE/test_$c/model.onnx" ] && cp "$NODE/test_$c/model.onnx" "$SEEDS/node_$c.onnx"
    done
  fi
  # Text-format seeds: the lit importer tests' models, '#'-prefixed.
  i=0
  for t in "$ROOT"/test/lit/importer/*.test; do
    python3 - "$t" "$SEEDS" <<'PY'
import os, re, sys
path, out = sys.argv[1], sys.argv[2]
text = open(path).read()
for n, part in enumerate(re.split(r"^//--- ", text, flags=re.M)[1:]):
    name, _, body = part.partition("\n")
    if name.strip().endswith((".textproto", ".onnxtxt")):
        base = os.path.basename(path) + "." + str(n)
        open(os.path.join(out, base + ".txt"), "w").write("#\n" + body)
PY
  done
fi

echo "effc-fuzz: running for ${SECONDS_TO_RUN}s (corpus $CORPUS)"
cd "$BUILD/crashes"
"$BUILD/bin/effc-fuzz" "$CORPUS" "$SEEDS" -max_total_time="$SECONDS_TO_RUN" \
  -max_len=262144 -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
  -artifact_prefix="$BUILD/crashes/" 2>&1 | tail -n 40
echo "effc-fuzz: crashes: $(ls "$BUILD/crashes" | grep -c . || true)"
