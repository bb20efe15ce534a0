#!/usr/bin/env bash
# Builds and runs a libFuzzer target for a bounded time.
#
#   test/fuzz/run-fuzzer.sh [SECONDS [TARGET]]      (default 600 effc-fuzz)
#
# TARGET: effc-fuzz (the ONNX importer, tools/effc-fuzz/effc-fuzz.cpp), effc-fuzz-lora
# (the PEFT LoRA adapter readers, tools/effc-fuzz/effc-fuzz-lora.cpp) or effc-fuzz-pipeline
# (import + pass pipeline + plan + CUDA emission, tools/effc-fuzz/effc-fuzz-pipeline.cpp).
# Build: a separate dir build-fuzz configured with clang-19, ASan and
# libFuzzer instrumentation (the main build uses g++); EFFC_FUZZ_JOBS sets the
# build's parallelism (default 2). Fuzzing runs one process.
# effc-fuzz: corpus build-fuzz/corpus, seeded (build-fuzz/seeds) with the
# shared models, some ONNX node-test models and the lit importer tests'
# text-format models; crashes land in build-fuzz/crashes/.
# effc-fuzz-lora: corpus build-fuzz/corpus-lora, seeded (build-fuzz/seeds-lora)
# with the shared adapters' files (../shared/lora/*/adapter/*, behind the
# selector byte: 0 safetensors, 1 adapter_config.json) and a few synthetic
# configs; dictionary test/fuzz/lora.dict; crashes in build-fuzz/crashes-lora/.
# effc-fuzz-pipeline: corpus build-fuzz/corpus-pipeline, seeded with the
# committed corpus test/fuzz/corpus/pipeline (replayed by ctest), the
# effc-fuzz seeds and the lit tests' eff IR ('/'-prefixed: .mlir files start
# with a comment); crashes in build-fuzz/crashes-pipeline/. After a run,
# `EFFC_FUZZ_MERGE=1 test/fuzz/run-fuzzer.sh 0 effc-fuzz-pipeline` merges the
# corpus into the committed one (coverage-minimized).
# Reproduce one with: build-fuzz/bin/TARGET build-fuzz/crashes[-lora]/crash-...
set -euo pipefail
SECONDS_TO_RUN=${1:-600}
TARGET=${2:-effc-fuzz}
case "$TARGET" in
  effc-fuzz) SUFFIX= ;;
  effc-fuzz-lora) SUFFIX=-lora ;;
  effc-fuzz-pipeline) SUFFIX=-pipeline ;;
  *) echo "run-fuzzer.sh: unknown target '$TARGET' (effc-fuzz, effc-fuzz-lora or effc-fuzz-pipeline)" >&2; exit 2 ;;
esac
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
nice cmake --build "$BUILD" --target "$TARGET" -j "$JOBS"

CORPUS=$BUILD/corpus$SUFFIX
SEEDS=$BUILD/seeds$SUFFIX
CRASHES=$BUILD/crashes$SUFFIX
mkdir -p "$CORPUS" "$SEEDS" "$CRASHES"
EXTRA=()
if [ "$TARGET" = effc-fuzz-lora ]; then
  EXTRA=(-dict="$ROOT/test/fuzz/lora.dict")
  if [ -z "$(ls -A "$SEEDS")" ]; then
    for f in "$SHARED"/lora/*/adapter/*; do
      [ -f "$f" ] || continue
      arch=$(basename "$(dirname "$(dirname "$f")")")
      case "$f" in
        *.safetensors) sel='\000' ;;
        *.json) sel='\001' ;;
        *) continue ;;
      esac
      { printf "$sel"; cat "$f"; } >"$SEEDS/${arch}_$(basename "$f")"
    done
    # Configs exercising what the shared ones leave unset.
    n=0
    while IFS= read -r cfg; do
      { printf '\001'; printf '%s' "$cfg"; } >"$SEEDS/synthetic_$n.json"; n=$((n + 1))
    done <<'JSON'
{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":".*\\.(q_proj|v_proj)","exclude_modules":"model\\.layers\\.0\\..*","use_rslora":true,"fan_in_fan_out":true}
{"peft_type":"LORA","r":4,"lora_alpha":8.5,"target_modules":["q_proj","down_proj"],"layers_to_transform":[0,3],"layers_pattern":["layers","h"],"exclude_modules":["v_proj"]}
{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["c_attn"],"layers_to_transform":1,"layers_pattern":"h","bias":"none"}
{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj"],"rank_pattern":{"q_proj":16,"layers\\.0\\.self_attn\\.v_proj":2},"alpha_pattern":{"v_proj":4.0,"(?:mlp|attn)\\.[a-z]+_proj":1}}
{"peft_type":"LORA","r":2,"lora_alpha":2,"target_modules":[],"use_dora":false,"modules_to_save":null,"layer_replication":[]}
JSON
  fi
elif [ -z "$(ls -A "$SEEDS")" ]; then
  if [ "$TARGET" = effc-fuzz-pipeline ]; then
    cp "$ROOT"/test/fuzz/corpus/pipeline/* "$SEEDS"/ 2>/dev/null || true
    for f in "$ROOT"/test/lit/*/*.mlir "$SHARED"/repro/*.mlir; do
      [ -f "$f" ] && cp "$f" "$SEEDS/$(basename "$(dirname "$f")")_$(basename "$f")"
    done
    cp "$SHARED"/repro/*.onnx "$SEEDS"/ 2>/dev/null || true
  fi
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

if [ -n "${EFFC_FUZZ_MERGE:-}" ] && [ "$TARGET" = effc-fuzz-pipeline ]; then
  COMMITTED=$ROOT/test/fuzz/corpus/pipeline
  mkdir -p "$COMMITTED"
  # Inputs under 4 KiB, the fewest that keep their coverage (set cover):
  # CI replays the committed corpus under the sanitizers, so it stays small.
  SMALL=$BUILD/corpus$SUFFIX-small
  rm -rf "$SMALL" && mkdir -p "$SMALL"
  find "$CORPUS" -type f -size -4k -exec cp {} "$SMALL"/ \;
  "$BUILD/bin/$TARGET" -set_cover_merge=1 -max_len=65536 -timeout=30 "$COMMITTED" "$SMALL" 2>&1 | tail -n 3
  echo "$TARGET: committed corpus now $(ls "$COMMITTED" | wc -l) files"
  exit 0
fi
MAX_LEN=262144
if [ "$TARGET" = effc-fuzz-pipeline ]; then
  # Whole-pipeline executions are slow on full models: fuzz small graphs.
  MAX_LEN=65536
  find "$SEEDS" -type f -size +64k -delete
fi
echo "$TARGET: running for ${SECONDS_TO_RUN}s (corpus $CORPUS)"
cd "$CRASHES"
# The whole log goes to $BUILD/fuzz$SUFFIX.log; the console shows libFuzzer's
# periodic "pulse" lines (executions so far, exec/s), reports and the final stats.
LOG=$BUILD/fuzz$SUFFIX.log
echo "$TARGET: full log $LOG"
# EFFC_FUZZ_RUNS=N stops after N executions (or SECONDS, whichever comes first).
[ -n "${EFFC_FUZZ_RUNS:-}" ] && EXTRA+=(-runs="$EFFC_FUZZ_RUNS")
STARTED=$BUILD/.fuzz-started$SUFFIX
touch "$STARTED"
set +e
"$BUILD/bin/$TARGET" "$CORPUS" "$SEEDS" -max_total_time="$SECONDS_TO_RUN" \
  -max_len="$MAX_LEN" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
  ${EXTRA[@]+"${EXTRA[@]}"} -artifact_prefix="$CRASHES/" 2>&1 | tee "$LOG" |
  grep --line-buffered -E 'pulse|INITED|DONE|ERROR|SUMMARY|stat::|Test unit written|deadly signal|timeout'
status=${PIPESTATUS[0]}
set -e
echo "$TARGET: new crash/timeout/leak inputs in $CRASHES: $(find "$CRASHES" -type f -newer "$STARTED" | grep -c . || true)"
exit "$status"
