#!/usr/bin/env bash
# Whole-model latency on a GPU: effc (cuda backend, CUDA graph replay, kernel
# time) against PyTorch eager and torch.compile on the same random weights,
# with the numerics of every timed configuration checked.
#   bench/models/run.sh BIN_DIR EXPORT_SCRIPT
# BIN_DIR holds effc + effc-model-bench (static builds run anywhere);
# EXPORT_SCRIPT is shared/tools/export_hf_onnx.py (needs torch + transformers
# + onnx). EFFC_BENCH_CONFIGS lists arch:size:batch:seq:dtype[:effc flags,
# '+' for spaces]; each model is exported once (batch 2, seq 512: torch.export
# specializes a dim exported at size 1) and compiled per config with --shape.
#
# Numerics: torch_peer.py computes the fp32 logits of the same random input
# ids on the GPU (TF32 off); effc-model-bench times each artifact (end-to-end
# runs, then kernel-only graph replays), requires every timed run's output to
# be bit-identical to the first and compares the output of a run made after
# all replays with that reference: fp32 within rtol 1e-4, bf16 within
# max(2e-2, 2 x torch's own bf16 error on the same ids). Any failure (export,
# compile, reference, run, numerics) is a FAIL row and exit status 1.
#
# env: EFFC_BENCH_CONFIGS (default: GPT-2 base fp32/bf16 at 512 tokens),
#      EFFC_BENCH_RUNS (timed runs and replays, default 20),
#      EFFC_MODEL_BENCH_TIMEOUT (seconds per timed run, default 300),
#      EFFC_BENCH_TORCH_COMPILE=0 (skip the torch.compile peer: ~30-60 s per
#      config), EFFC_JOBS (compiles at once, default 4), EFFC_EXPORT_CACHE
#      (exports, default $EFFC_BENCH_DIR), EFFC_BENCH_DIR (artifacts and
#      tensors, default /tmp/effc-bench-models), OUT (logs:
#      ${OUT:-/tmp}/bench-models). Prints one ROW line per config as it
#      completes, then the table.
set -uo pipefail
me=bench_models
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../test/gpu/lib.sh
source "$here/../../test/gpu/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: bench/models/run.sh BIN_DIR EXPORT_SCRIPT"
bin=$1; export_script=$2
work=${EFFC_BENCH_DIR:-/tmp/effc-bench-models}
exports=${EFFC_EXPORT_CACHE:-$work}
log=${OUT:-/tmp}/bench-models
runs=${EFFC_BENCH_RUNS:-20}
pool_max=${EFFC_JOBS:-4}
configs=${EFFC_BENCH_CONFIGS:-"gpt2:base:2:512:fp32 gpt2:base:8:512:fp32 gpt2:base:1:512:bf16 gpt2:base:2:512:bf16 gpt2:base:8:512:bf16"}
need_exec "$bin/effc" "$bin/effc-model-bench"
[[ -f $export_script ]] || fail_setup "export script not found: $export_script"
need_python numpy torch transformers onnx
mkdir -p "$work" "$exports"; rm -rf "$log"; mkdir -p "$log"

# One tag per config; the fields of each in associative arrays.
declare -A arch size batch seq dtype flags
tags=() models=()
for cfg in $configs; do
  IFS=: read -r a s b q d f <<<"$cfg"
  [[ -n $d && $b =~ ^[0-9]+$ && $q =~ ^[0-9]+$ && ($d == fp32 || $d == bf16) ]] ||
    fail_setup "bad config '$cfg' (arch:size:batch:seq:fp32|bf16[:flags])"
  f=${f//+/ }
  tag="$a-$s-b$b-s$q-$d${f:+-${f// /}}"
  tags+=("$tag"); arch[$tag]=$a; size[$tag]=$s; batch[$tag]=$b; seq[$tag]=$q; dtype[$tag]=$d; flags[$tag]=$f
  [[ " ${models[*]} " == *" $a-$s "* ]] || models+=("$a-$s")
done
((${#tags[@]})) || fail_setup "EFFC_BENCH_CONFIGS is empty"

# 1. Export each model once (in parallel: CPU work).
export_model() {
  local m=$1 dir=$exports/$1
  [[ -f $dir/model.onnx ]] && return
  python3 "$export_script" --arch "${m%%-*}" --size "${m#*-}" --batch 2 --seq 512 --out "$dir" \
    >"$log/export-$m.log" 2>&1 || rm -rf "$dir"
}
t0=$SECONDS
for m in "${models[@]}"; do pool_run export_model "$m"; done
pool_wait
echo "== exports: ${models[*]} ($((SECONDS - t0)) s)" >&2

# 2. Compile every config (in parallel); compile_s is each compile's own wall
# time while others run beside it.
compile_config() {
  local tag=$1 m=${arch[$1]}-${size[$1]} t=$SECONDS
  if [[ ! -f $exports/$m/model.onnx ]]; then
    echo "no export of $m (see $log/export-$m.log)" >"$log/$tag.effc.log"; return
  fi
  # shellcheck disable=SC2086
  "$bin/effc" "$exports/$m/model.onnx" --shape "input_ids=${batch[$tag]}x${seq[$tag]}" --dtype="${dtype[$tag]}" \
    ${flags[$tag]} -o "$work/$tag.effc" >"$log/$tag.effc.log" 2>&1 || rm -f "$work/$tag.effc"
  echo $((SECONDS - t)) >"$log/$tag.compile_s"
}
t0=$SECONDS
for tag in "${tags[@]}"; do pool_run compile_config "$tag"; done
pool_wait
echo "== compiled ${#tags[@]} configs ($((SECONDS - t0)) s)" >&2

# 3. Input ids per shape; torch references and peers per model, one process
# each (the model is built once), alone on the GPU.
ids_of() { echo "$work/ids-$1-$2.npy"; }
ref_of() { echo "$work/ref-$1-b$2-s$3.npy"; }
for tag in "${tags[@]}"; do
  ids=$(ids_of "${batch[$tag]}" "${seq[$tag]}")
  [[ -f $ids ]] || python3 -c "import numpy as np, sys
np.save(sys.argv[1], np.random.default_rng(0).integers(0, 32000, (int(sys.argv[2]), int(sys.argv[3]))).astype(np.int64))" \
    "$ids" "${batch[$tag]}" "${seq[$tag]}"
done
compile_flag=; [[ ${EFFC_BENCH_TORCH_COMPILE:-1} == 0 ]] && compile_flag=--no-compile
for m in "${models[@]}"; do
  jobs=()
  for tag in "${tags[@]}"; do
    [[ ${arch[$tag]}-${size[$tag]} == "$m" ]] || continue
    job="${batch[$tag]}:${seq[$tag]}:${dtype[$tag]}:$(ids_of "${batch[$tag]}" "${seq[$tag]}"):$(ref_of "$m" "${batch[$tag]}" "${seq[$tag]}")"
    [[ " ${jobs[*]} " == *" $job "* ]] || jobs+=("$job")
  done
  rm -f "$work"/ref-"$m"-*.npy
  t0=$SECONDS
  # shellcheck disable=SC2086
  python3 "$here/torch_peer.py" --export-script "$export_script" --arch "${m%%-*}" --size "${m#*-}" $compile_flag \
    "${jobs[@]}" >"$log/peer-$m.txt" 2>"$log/peer-$m.err" || echo "torch_peer.py failed for $m (see $log/peer-$m.err)" >&2
  echo "== torch $m: ${#jobs[@]} shapes/dtypes ($((SECONDS - t0)) s)" >&2
done

# 4. effc, one config at a time, alone on the GPU.
rows=() failed=0
peer_field() {  # TAG FIELD: from the PEER line of the config's shape and dtype
  sed -n "s/^PEER batch=${batch[$1]} seq=${seq[$1]} dtype=${dtype[$1]} .*$2=\([^ ]*\).*/\1/p" \
    "$log/peer-${arch[$1]}-${size[$1]}.txt" 2>/dev/null | head -1
}
for tag in "${tags[@]}"; do
  echo "== $tag" >&2
  art=$work/$tag.effc run=$log/$tag.run
  ref=$(ref_of "${arch[$tag]}-${size[$tag]}" "${batch[$tag]}" "${seq[$tag]}")
  eager=$(peer_field "$tag" eager); compiled=$(peer_field "$tag" compile); torch_err=$(peer_field "$tag" torch_err)
  tol=1e-4
  # bf16 without torch's own bf16 error: "nan", a FAIL below.
  [[ ${dtype[$tag]} == bf16 ]] && tol=$(bf16_tolerance "$torch_err")
  effc_ms='?' e2e_ms='?' dev_ms='?' err=- check=
  if [[ ! -f $art ]]; then
    check="FAIL(effc: $(tail -1 "$log/$tag.effc.log" | cut -c1-60))"
  elif [[ ! -f $ref ]]; then
    check="FAIL(no torch reference)"
  elif [[ ${dtype[$tag]} == bf16 && ! $tol =~ ^[0-9] ]]; then
    check="FAIL(no torch bf16 error)"
  else
    model_bench "$run" "$bin" "$art" --input "input_ids=$(ids_of "${batch[$tag]}" "${seq[$tag]}")" \
      --reference "logits=$ref" --rtol "$tol" --runs "$runs"
    effc_ms=$bench_ms e2e_ms=$bench_e2e_ms dev_ms=$bench_dev_ms err=$bench_err check=$bench_check
  fi
  [[ $check == PASS ]] || { failed=1; tail -5 "$run" "$log/$tag.effc.log" 2>/dev/null >&2; }
  rm -f "$art"
  ratio=$(python3 -c "
import sys
e, a, b = (float(x) if x not in ('', '?') else float('nan') for x in sys.argv[1:])
best = min((x for x in (a, b) if x == x), default=float('nan'))
print(f'{best / e:.2f}x' if e == e and best == best else '?')" "$effc_ms" "$eager" "$compiled")
  rows+=("$(printf '%-40s %8s %8s %8s %8s %8s %7s %5ss %11s %8s %9s  %s' "$tag" "$effc_ms" "$dev_ms" "$e2e_ms" "${eager:-?}" \
    "${compiled:-?}" "$ratio" "$(cat "$log/$tag.compile_s" 2>/dev/null || echo '?')" "$err" "$tol" "${torch_err:--}" "$check")")
  echo "ROW ${rows[-1]}"  # as soon as known: a run cut short still reports it
done
rm -f "$work"/ref-*.npy

printf '\n%-40s %8s %8s %8s %8s %8s %7s %6s %11s %8s %9s  %s\n' config effc_ms dev_ms e2e_ms eager_ms compile_ms vs_best \
  compile max_rel_err tol torch_err check
printf '%s\n' "${rows[@]}"
echo "effc_ms: kernel time of one run (CUDA graph replay, device median of $runs); dev_ms: a whole step with device"
echo "inputs and outputs (no host copies: runInto device buffers); e2e_ms: with host inputs and outputs (copies);"
echo "torch: CUDA-event median of the module call; vs_best = best torch time / effc_ms; compile: effc's wall time"
echo "(compiles run side by side); max_rel_err: effc vs torch fp32 after all timed runs and replays;"
echo "torch_err: torch's own bf16 error vs its fp32 (bf16 tol = max(2e-2, 2 x torch_err)). Logs: $log"
if ((failed)); then
  echo "bench_models: FAILED"
  exit 1
fi
echo "bench_models: all ${#tags[@]} configs checked and passed"
