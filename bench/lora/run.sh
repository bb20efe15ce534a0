#!/usr/bin/env bash
# LoRA latency on a GPU: a Llama-1B-shaped model (bf16, seq 512) with random
# PEFT adapters on q,k,v,o (ranks 8/16/64): base, merged (--lora-merge),
# unmerged (eff.lora_linear, low-rank expand fused into the GEMM epilogue),
# and two adapters mixed in one batch (lora_index alternating 0/1), with the
# numerics of every timed configuration checked.
#   bench/lora/run.sh BIN_DIR EXPORT_SCRIPT
# Numerics: torch_reference.py computes each configuration's fp32 logits in
# torch (the adapters applied unmerged, per batch row; merged r16 shares the
# unmerged r16 reference); effc-model-bench times each artifact, requires
# every timed run's output to be bit-identical to the first and compares the
# output of a run made after all graph replays with the reference within
# max(2e-2, 2 x torch's own bf16 error on the same configuration).
# env: EFFC_LORA_BATCHES (default "1 8 64"), EFFC_LORA_RANKS ("8 16 64"),
# EFFC_LORA_DIR (artifacts, adapters, tensors; default /tmp/effc-bench-lora),
# EFFC_EXPORT_CACHE (the export; default $EFFC_LORA_DIR), EFFC_LORA_RUNS
# (timed runs and replays, default 10), EFFC_MODEL_BENCH_TIMEOUT (seconds per
# run, default 300), OUT (logs: ${OUT:-/tmp}/bench-lora). Prints one ROW line
# per config as it completes, then the table; exit 1 on any failure.
set -uo pipefail
me=bench_lora
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../test/gpu/lib.sh
source "$here/../../test/gpu/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: bench/lora/run.sh BIN_DIR EXPORT_SCRIPT"
bin=$1; export_script=$2
out=${EFFC_LORA_DIR:-/tmp/effc-bench-lora}
exports=${EFFC_EXPORT_CACHE:-$out}
log=${OUT:-/tmp}/bench-lora
batches=${EFFC_LORA_BATCHES:-"1 8 64"}; ranks=${EFFC_LORA_RANKS:-"8 16 64"}; seq=512
runs=${EFFC_LORA_RUNS:-10}
model="$exports/llama-1b"
need_exec "$bin/effc" "$bin/effc-model-bench"
[[ -f $export_script ]] || fail_setup "export script not found: $export_script"
need_python numpy torch transformers onnx safetensors
for b in $batches; do [[ $b =~ ^[1-9][0-9]*$ ]] || fail_setup "EFFC_LORA_BATCHES: bad batch '$b'"; done
for r in $ranks; do [[ $r =~ ^[1-9][0-9]*$ ]] || fail_setup "EFFC_LORA_RANKS: bad rank '$r'"; done
[[ -n $batches && -n $ranks ]] || fail_setup "EFFC_LORA_BATCHES and EFFC_LORA_RANKS must not be empty"
mkdir -p "$out" "$exports"; rm -rf "$log"; mkdir -p "$log"
if [ ! -f "$model/model.onnx" ]; then
  echo "== export llama-1b" >&2
  python3 "$export_script" --arch llama --size 1b --batch 2 --seq $seq --out "$model" >"$log/export.log" 2>&1 ||
    { rm -rf "$model"; tail -5 "$log/export.log"; fail_setup "exporting llama-1b failed (see $log/export.log)"; }
fi
for r in $ranks 16; do
  for s in 0 1; do
    [ -f "$out/adapter-r$r-s$s/adapter_config.json" ] ||
      python3 "$here/make_random_adapter.py" "$out/adapter-r$r-s$s" --rank "$r" --seed "$s" ||
      fail_setup "make_random_adapter.py failed for rank $r seed $s"
  done
done

# configs_for BATCH: "tag|effc flags|reference name" lines.
configs_for() {
  echo "base||base"
  echo "merged r16|--lora=$out/adapter-r16-s0 --lora-merge|r16"
  for r in $ranks; do echo "unmerged r$r|--lora=$out/adapter-r$r-s0|r$r"; done
  [ "$1" -ge 2 ] && echo "2 adapters mixed r16|--lora a=$out/adapter-r16-s0 --lora b=$out/adapter-r16-s1|mixed"
}

# Inputs and torch references for every batch, in one process (the model is
# built once): base, r<rank> (adapter s0 on every row), mixed (s0/s1 rows).
jobs=()
for batch in $batches; do
  python3 -c "
import numpy as np, sys
b = int(sys.argv[2])
np.save(sys.argv[1] + f'/ids-{b}.npy', np.random.default_rng(0).integers(0, 32000, (b, $seq)).astype(np.int64))
np.save(sys.argv[1] + f'/index-{b}.npy', (np.arange(b) % 2).astype(np.int64))" "$out" "$batch"
  ids=$out/ids-$batch.npy
  jobs+=("$out/ref-b$batch-base.npy:$ids::")
  for r in $ranks 16; do
    [[ " ${jobs[*]} " == *"ref-b$batch-r$r.npy:"* ]] || jobs+=("$out/ref-b$batch-r$r.npy:$ids:$out/adapter-r$r-s0:")
  done
  [ "$batch" -ge 2 ] &&
    jobs+=("$out/ref-b$batch-mixed.npy:$ids:$out/adapter-r16-s0,$out/adapter-r16-s1:$out/index-$batch.npy")
done
rm -f "$out"/ref-b*.npy
t0=$SECONDS
python3 "$here/torch_reference.py" --export-script "$export_script" "${jobs[@]}" >"$log/torch-reference.txt" \
  2>"$log/torch-reference.err" || { tail -5 "$log/torch-reference.err" >&2; echo "torch_reference.py failed" >&2; }
echo "== torch references: ${#jobs[@]} ($((SECONDS - t0)) s)" >&2

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.3f}')" "$1" "$2" 2>/dev/null || echo '?'; }
rows=() failed=0
# One batch at a time: every config of the batch compiles in parallel (effc is
# mostly single-threaded and a Llama-1B compile takes ~40 s), then each runs
# alone on the GPU; artifacts are deleted after their run (~2.5 GB each).
for batch in $batches; do
  t0=$SECONDS; n=0
  while IFS='|' read -r tag flags ref; do
    # shellcheck disable=SC2086
    "$bin/effc" "$model/model.onnx" --shape "input_ids=${batch}x$seq" --dtype=bf16 $flags \
      -o "$out/b$batch-$n.effc" >"$log/b$batch-$n.effc.log" 2>&1 &
    n=$((n + 1))
  done < <(configs_for "$batch")
  wait
  echo "batch $batch: $n configs compiled in $((SECONDS - t0))s (in parallel)" >&2
  n=0; base=
  while IFS='|' read -r tag flags ref; do
    art="$out/b$batch-$n.effc" run="$log/b$batch-$n.run" ref_file="$out/ref-b$batch-$ref.npy"
    inputs=(--input "input_ids=$out/ids-$batch.npy")
    [[ "$flags" == *"--lora a="* ]] && inputs+=(--input "lora_index=$out/index-$batch.npy")
    torch_err=$(sed -n "s|^REF out=$ref_file torch_err=\([^ ]*\)|\1|p" "$log/torch-reference.txt" | head -1)
    tol=$(bf16_tolerance "$torch_err")
    ms='?' err=- check=
    if [ ! -f "$art" ]; then
      check="FAIL(effc: $(tail -1 "$log/b$batch-$n.effc.log" | cut -c1-50))"
    elif [[ ! -f $ref_file || ! $tol =~ ^[0-9] ]]; then
      check="FAIL(no torch reference)"
    else
      model_bench "$run" "$bin" "$art" "${inputs[@]}" --reference "logits=$ref_file" --rtol "$tol" --runs "$runs"
      ms=$bench_ms err=$bench_err check=$bench_check
    fi
    [[ $check == PASS ]] || { failed=1; tail -3 "$run" "$log/b$batch-$n.effc.log" 2>/dev/null >&2; }
    rm -f "$art"
    [ "$tag" = base ] && base=$ms
    rows+=("$(printf '%5s %-22s %9s %9s %11s %7s %9s  %s' "$batch" "$tag" "$ms" "$(ratio "$ms" "${base:-nan}")" \
      "$err" "$tol" "${torch_err:--}" "$check")")
    echo "ROW ${rows[-1]}"
    n=$((n + 1))
  done < <(configs_for "$batch")
  rm -f "$out"/ref-b"$batch"-*.npy
done
printf '\n%5s %-22s %9s %9s %11s %7s %9s  %s\n' batch config effc_ms vs_base max_rel_err tol torch_err check
printf '%s\n' "${rows[@]}"
echo "effc_ms: kernel time of one run (CUDA graph replay, device median of $runs); Llama-1B shape (hidden 2048,"
echo "16 layers, 32/8 heads, ffn 8192, vocab 32000), bf16, seq 512; adapters on q,k,v,o of every layer."
echo "max_rel_err: effc vs torch fp32 (adapters unmerged) after all timed runs and replays; torch_err: torch's"
echo "own bf16 error on the same configuration (tol = max(2e-2, 2 x torch_err)). Logs: $log"
if ((failed)); then
  echo "bench_lora: FAILED"
  exit 1
fi
echo "bench_lora: all configs checked and passed"
