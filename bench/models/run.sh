#!/usr/bin/env bash
# Whole-model latency on a GPU: effc (cuda backend, CUDA graph replay) against
# PyTorch eager and torch.compile on the same random weights.
#   bench/models/run.sh BIN_DIR EXPORT_SCRIPT [OUT_DIR]
# BIN_DIR holds effc + effc-run (static builds run anywhere); EXPORT_SCRIPT is
# ../shared/tools/export_hf_onnx.py (needs torch + transformers + onnx).
# Prints a table last: model, batch, seq, dtype, effc ms, eager ms, compile ms,
# effc speed-up over the better peer.
set -uo pipefail
bin=$1; export_script=$2; out=${3:-/tmp/effc-bench-models}
here=$(cd "$(dirname "$0")" && pwd)
seq=${EFFC_BENCH_SEQ:-512}
mkdir -p "$out"
rows=()
for spec in ${EFFC_BENCH_MODELS:-gpt2:base llama:1b}; do
  arch=${spec%%:*}; size=${spec##*:}
  for batch in 1 8; do
    dir="$out/$arch-$size-b$batch"
    if [ ! -f "$dir/model.onnx" ]; then
      python3 "$export_script" --arch "$arch" --size "$size" --batch "$batch" --seq "$seq" --out "$dir" >&2 || continue
    fi
    for dtype in ${EFFC_BENCH_DTYPES:-fp32 bf16}; do
      art="$dir/model-$dtype.effc"
      "$bin/effc" "$dir/model.onnx" --shape "input_ids=${batch}x${seq}" --dtype="$dtype" -o "$art" >&2 || continue
      rtol=1e-3; [ "$dtype" = bf16 ] && rtol=2e-2
      check=$("$bin/effc-run" "$art" --backend=cuda --test-data "$dir/test_data_set_0" --rtol "$rtol" | tail -1)
      effc_ms=$("$bin/effc-run" "$art" --backend=cuda --input "input_ids=$dir/test_data_set_0/input_0.pb" \
                  --bench 30 | sed -n 's/.*median[= :]*\([0-9.]*\).*/\1/p' | head -1)
      peers=$(python3 "$here/torch_peer.py" --export-script "$export_script" --arch "$arch" --size "$size" \
                --batch "$batch" --seq "$seq" --dtype "$dtype")
      eager=$(echo "$peers" | sed -n 's/.*eager=\([0-9.]*\).*/\1/p')
      compiled=$(echo "$peers" | sed -n 's/.*compile=\([0-9.na]*\).*/\1/p')
      ratio=$(python3 -c "e,a,b=float('${effc_ms:-nan}'),float('${eager:-nan}'),float('${compiled:-nan}');best=min(x for x in (a,b) if x==x) if (a==a or b==b) else float('nan');print(f'{best/e:.2f}x')" 2>/dev/null)
      rows+=("$(printf '%-12s %5s %5s %5s %10s %10s %10s %8s  %s' "$arch-$size" "$batch" "$seq" "$dtype" "${effc_ms:-?}" "${eager:-?}" "${compiled:-?}" "${ratio:-?}" "${check#output }")")
    done
  done
done
printf '\n%-12s %5s %5s %5s %10s %10s %10s %8s  %s\n' model batch seq dtype effc_ms eager_ms compile_ms speedup check
printf '%s\n' "${rows[@]}"
