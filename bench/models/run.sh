#!/usr/bin/env bash
# Whole-model latency on a GPU: effc (cuda backend, CUDA graph replay, kernel
# time) against PyTorch eager and torch.compile on the same random weights.
#   bench/models/run.sh BIN_DIR EXPORT_SCRIPT
# BIN_DIR holds effc + effc-run (static builds run anywhere); EXPORT_SCRIPT is
# shared/tools/export_hf_onnx.py (needs torch + transformers + onnx).
# EFFC_BENCH_CONFIGS lists arch:size:batch:seq:dtype[:effc flags]; each model
# is exported once (batch 2, seq 512: torch.export specializes a dim exported
# at size 1) and compiled per config with --shape. Numerics are checked where
# the config matches the exported reference (2x512). Prints a table last.
set -uo pipefail
bin=$1; export_script=$2; out=${EFFC_BENCH_DIR:-/tmp/effc-bench-models}
here=$(cd "$(dirname "$0")" && pwd)
configs=${EFFC_BENCH_CONFIGS:-"gpt2:base:2:512:fp32 gpt2:base:8:512:fp32 gpt2:base:1:512:bf16 gpt2:base:2:512:bf16 gpt2:base:8:512:bf16"}
mkdir -p "$out"
rows=()
for cfg in $configs; do
  IFS=: read -r arch size batch seq dtype flags <<< "$cfg"
  flags=${flags//+/ }
  dir="$out/$arch-$size"
  if [ ! -f "$dir/model.onnx" ]; then
    echo "== export $arch-$size" >&2
    python3 "$export_script" --arch "$arch" --size "$size" --batch 2 --seq 512 --out "$dir" >&2 || continue
  fi
  tag="$arch-$size-b$batch-s$seq-$dtype${flags:+-${flags// /}}"
  art="$out/$tag.effc"
  echo "== $tag" >&2
  t0=$(date +%s)
  # shellcheck disable=SC2086
  "$bin/effc" "$dir/model.onnx" --shape "input_ids=${batch}x${seq}" --dtype="$dtype" $flags -o "$art" >&2 || continue
  compile_s=$(( $(date +%s) - t0 ))
  ids="$out/ids-$batch-$seq.npy"
  python3 -c "import numpy as np; np.save('$ids', np.random.default_rng(0).integers(0, 32000, ($batch, $seq)).astype(np.int64))"
  check="-"
  if [ "$batch" = 2 ] && [ "$seq" = 512 ]; then
    rtol=1e-4; [ "$dtype" = bf16 ] && rtol=2e-2
    check=$("$bin/effc-run" "$art" --backend=cuda --test-data "$dir/test_data_set_0" --rtol "$rtol" | tail -1)
    check=${check#output }
  fi
  bench=$("$bin/effc-run" "$art" --backend=cuda --input "input_ids=$ids" --bench 20)
  effc_ms=$(echo "$bench" | sed -n 's/.*device median \([0-9.]*\).*/\1/p')
  e2e_ms=$(echo "$bench" | sed -n 's/.*runs, median \([0-9.]*\).*/\1/p' | head -1)
  peers=$(python3 "$here/torch_peer.py" --export-script "$export_script" --arch "$arch" --size "$size" \
            --batch "$batch" --seq "$seq" --dtype "$dtype" 2>/dev/null)
  eager=$(echo "$peers" | sed -n 's/.*eager=\([0-9.]*\).*/\1/p')
  compiled=$(echo "$peers" | sed -n 's/.*compile=\([0-9.na]*\).*/\1/p')
  ratio=$(python3 -c "
e,a,b=float('${effc_ms:-nan}'),float('${eager:-nan}'),float('${compiled:-nan}')
best=min(x for x in (a,b,float('inf')) if x==x)
print(f'{best/e:.2f}x' if e==e and best<float('inf') else '?')")
  rows+=("$(printf '%-34s %9s %9s %9s %9s %7s %4ss  %s' "$tag" "${effc_ms:-?}" "${e2e_ms:-?}" "${eager:-?}" "${compiled:-?}" "$ratio" "$compile_s" "$check")")
  echo "ROW ${rows[-1]}"  # as soon as known: a run cut short still reports it
done
printf '\n%-34s %9s %9s %9s %9s %7s %5s  %s\n' config effc_ms e2e_ms eager_ms compile_ms vs_best compile check
printf '%s\n' "${rows[@]}"
echo "effc_ms: kernel time of one run (CUDA graph replay, events); e2e_ms adds input/output copies;"
echo "torch: CUDA-event median of the module call; vs_best = best torch time / effc_ms"
