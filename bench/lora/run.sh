#!/usr/bin/env bash
# LoRA latency on a GPU: a Llama-1B-shaped model (bf16, seq 512) with random
# PEFT adapters on q,k,v,o (ranks 8/16/64): base, merged (--lora-merge),
# unmerged (eff.lora_linear, low-rank expand fused into the GEMM epilogue),
# and two adapters mixed in one batch (lora_index alternating 0/1).
#   bench/lora/run.sh BIN_DIR EXPORT_SCRIPT
# EFFC_LORA_BATCHES (default "1 8 64") and EFFC_LORA_RANKS ("8 16 64") pick the
# rows; EFFC_LORA_DIR keeps the export and adapters between runs. Prints one
# ROW line per config as it completes, then the table. Numerics: merged vs
# unmerged outputs at the first batch (same math, two orders of rounding).
set -uo pipefail
bin=$1; export_script=$2; out=${EFFC_LORA_DIR:-/tmp/effc-bench-lora}
here=$(cd "$(dirname "$0")" && pwd)
batches=${EFFC_LORA_BATCHES:-"1 8 64"}; ranks=${EFFC_LORA_RANKS:-"8 16 64"}; seq=512
model="$out/llama-1b"
mkdir -p "$out"
if [ ! -f "$model/model.onnx" ]; then
  echo "== export llama-1b" >&2
  python3 "$export_script" --arch llama --size 1b --batch 2 --seq $seq --out "$model" >&2 || exit 1
fi
for r in $ranks 16; do
  for s in 0 1; do
    [ -f "$out/adapter-r$r-s$s/adapter_config.json" ] ||
      python3 "$here/make_random_adapter.py" "$out/adapter-r$r-s$s" --rank "$r" --seed "$s"
  done
done
rows=()
# One batch at a time: every config of the batch compiles in parallel (effc is
# mostly single-threaded and a Llama-1B compile takes ~40 s), then each runs
# alone on the GPU; artifacts are deleted after their run (~2.5 GB each).
configs_for() {  # batch -> "tag|flags" lines
  echo "base|"
  echo "merged r16|--lora=$out/adapter-r16-s0 --lora-merge"
  for r in $ranks; do echo "unmerged r$r|--lora=$out/adapter-r$r-s0"; done
  [ "$1" -ge 2 ] && echo "2 adapters mixed r16|--lora a=$out/adapter-r16-s0 --lora b=$out/adapter-r16-s1"
}
ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.3f}')" 2>/dev/null || echo "?"; }
for batch in $batches; do
  python3 -c "
import numpy as np
np.save('$out/ids-$batch.npy', np.random.default_rng(0).integers(0, 32000, ($batch, $seq)).astype(np.int64))
np.save('$out/index-$batch.npy', (np.arange($batch) % 2).astype(np.int64))"
  t0=$(date +%s); n=0
  while IFS='|' read -r tag flags; do
    # shellcheck disable=SC2086
    "$bin/effc" "$model/model.onnx" --shape "input_ids=${batch}x$seq" --dtype=bf16 $flags \
      -o "$out/b$batch-$n.effc" > "$out/b$batch-$n.log" 2>&1 &
    n=$((n + 1))
  done < <(configs_for "$batch")
  wait
  echo "batch $batch: $n configs compiled in $(( $(date +%s) - t0 ))s (in parallel)" >&2
  n=0; base=
  while IFS='|' read -r tag flags; do
    art="$out/b$batch-$n.effc"; dir="$out/out-b$batch-$n"; mkdir -p "$dir"
    inputs=(--input "input_ids=$out/ids-$batch.npy")
    [[ "$flags" == *"--lora a="* ]] && inputs+=(--input "lora_index=$out/index-$batch.npy")
    if [ -f "$art" ]; then
      # A run that hangs must not take the rest of the table with it.
      timeout "${EFFC_LORA_RUN_TIMEOUT:-120}" "$bin/effc-run" "$art" --backend=cuda "${inputs[@]}" --bench 10 \
        --output-dir "$dir" > "$out/b$batch-$n.run" 2>&1 || echo "run failed or timed out: $tag" >&2
      tail -3 "$out/b$batch-$n.run" | grep -i error >&2
      ms=$(sed -n 's/.*device median \([0-9.]*\).*/\1/p' "$out/b$batch-$n.run")
    else
      ms=?; tail -3 "$out/b$batch-$n.log" >&2
    fi
    rm -f "$art"
    [ "$tag" = base ] && base=$ms
    rows+=("$(printf '%5s %-22s %9s %9s' "$batch" "$tag" "${ms:-?}" "$(ratio "${ms:-nan}" "${base:-nan}")")")
    echo "ROW ${rows[-1]}"
    n=$((n + 1))
  done < <(configs_for "$batch")
  # merged (config 1) vs unmerged r16: the same adapter, two roundings.
  r16=$(configs_for "$batch" | grep -n '^unmerged r16|' | cut -d: -f1)
  [ -n "$r16" ] && python3 - "$out/out-b$batch-1" "$out/out-b$batch-$((r16 - 1))" <<'PY' || true
import sys, glob, numpy as np
a = np.load(glob.glob(sys.argv[1] + "/*.npy")[0]); b = np.load(glob.glob(sys.argv[2] + "/*.npy")[0])
print(f"merged vs unmerged r16 logits: max_rel_err={np.abs(a-b).max()/np.abs(a).max():.3g}")
PY
  rm -rf "$out"/out-b"$batch"-*
done
printf '\n%5s %-22s %9s %9s\n' batch config effc_ms vs_base
printf '%s\n' "${rows[@]}"
echo "effc_ms: kernel time of one run (CUDA graph replay, device median of 10); Llama-1B shape (hidden 2048,"
echo "16 layers, 32/8 heads, ffn 8192, vocab 32000), bf16, seq 512; adapters on q,k,v,o of every layer."
