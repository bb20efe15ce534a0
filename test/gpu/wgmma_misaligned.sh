#!/usr/bin/env bash
# GEMMs whose [K, N] weight rows are not 16-byte aligned (N not a multiple of
# 8: GPT-2's LM head, N = 50257) on the sm_90a wgmma/TMA kernels, the weight
# stored [N, K] by eff-k-major-weights (matmul transB = 1), on an H100/H200
# (one command, about 4-6 min):
#   test/gpu/wgmma_misaligned.sh BIN_DIR SHARED_DIR
#     BIN_DIR     effc, effc-run, effc-gemm-bench (static builds travel)
#     SHARED_DIR  the shared data (not read yet: its decoders' vocabularies,
#                 256 and 512, are aligned; the model here is exported)
# 1. effc-gemm-bench --perf, bf16, the LM head M x 50257 x 768: --wgmma with
#    the weight [N, K] (problem suffix t: the TMA kernel with B K-major, the
#    ragged last N tile zero-filled by TMA), the mma.sync kernel with the
#    weight [K, N] (what sm_90a artifacts ran before), each checked against
#    the fp32 reference; cuBLAS (bench/gemm/cublas_peer.py, torch) on both
#    layouts. M in {16, 128, 512, 4096}; then over runtime rows planned at
#    1024 and run at R in {1, 17, 200} (R <= 16: the decode path).
# 2. gpt2-base (124M, random weights, vocab 50257) exported by
#    bench/generate/export_withpast.py (shared with test/gpu/decode_gemm.sh
#    through EFFC_DG_DIR), compiled bf16 with --dim batch=2 --dim seq=1..128
#    --dim past=0..127 --dim total=1..255: --arch=sm_90a --remarks (the LM
#    head's weight stored [50257, 768], its GEMM on the TMA kernel; the
#    remarks must say both), --arch=sm_90a --gemm=mma (the LM head on
#    mma.sync, its weight kept [768, 50257]) and --host-only (the reference:
#    no pass). The host-only artifact on the host backend writes the
#    reference of a prefill (seq 64, past 0) and a decode step (seq 1, past
#    63); the sm_90a artifact on the cuda backend must match both in one
#    session (--rtol 3e-2, top-1 of every decisive row).
# 3. The LM head's kernel time in each artifact's profile (effc-run
#    --verbose, prefill seq 128): TMA with B K-major vs mma.sync.
# Logs: ${OUT:-/tmp}/wgmma-misaligned. Exit 1 on any failure.
set -uo pipefail
me=wgmma_misaligned
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: test/gpu/wgmma_misaligned.sh BIN_DIR SHARED_DIR"
bin=$(cd "$1" && pwd)
need_dir "$2" "the shared data"
need_exec "$bin/effc" "$bin/effc-run" "$bin/effc-gemm-bench"
need_python numpy torch transformers onnx
need_cmd timeout
work=${EFFC_DG_DIR:-/tmp/effc-decode-gemm}
mkdir -p "$work"
start_timed wgmma-misaligned

m=gpt2-base
(
  [[ -f $work/$m/meta.json ]] ||
    python3 "$root/bench/generate/export_withpast.py" --arch gpt2 --size base --out "$work/$m" \
      --no-check >"$log/export.log" 2>&1
) &
exporter=$!

say "1. the LM head GEMM: TMA wgmma with the weight [N, K] vs mma.sync [K, N] vs cuBLAS"
result() { # FILE: 'PASS tile ms tflops' of its first chosen RESULT line, or 'FAIL why'
  local line
  line=$(grep '^RESULT .*chosen=1' "$1" | head -1)
  [[ -n $line ]] || line=$(grep '^RESULT ' "$1" | head -1)
  if [[ -z $line ]] || grep -q '^RESULT .*status=FAIL' "$1" || grep -q "past the run's M" "$1"; then
    echo "FAIL $(grep "past the run's M" "$1" | head -1) $(tail -1 "$1" | cut -c1-100)"
  else
    echo "PASS $(grep -o 'tile=[^ ]*\|ms=[^ ]*\|tflops=[^ ]*' <<<"$line" | tr '\n' ' ')"
  fi
}
bench() { # LABEL ARGS...
  local label=$1 out=$log/bench-$1.txt r
  shift
  timeout 120 "$bin/effc-gemm-bench" --perf --dtypes=bf16 "$@" >"$out" 2>&1
  r=$(result "$out")
  [[ $r == PASS* ]] || status=1
  printf '  %-28s %s\n' "$label" "$r"
}
shapes=()
for M in 16 128 512 4096; do
  bench "tma-nk-${M}x50257x768" --wgmma --problems="${M}x50257x768t"
  bench "mma-kn-${M}x50257x768" --problems="${M}x50257x768"
  shapes+=("${M}x50257x768t" "${M}x50257x768")
done
for r in 1 17 200; do
  bench "tma-nk-1024x50257x768@$r" --wgmma --problems=1024x50257x768t --rows=$r
  bench "mma-kn-1024x50257x768@$r" --problems=1024x50257x768 --rows=$r
done
echo "  cuBLAS (torch.matmul; t: b [N, K] read through b.t()):"
peer=$(IFS=,; echo "${shapes[*]}")
timeout 300 python3 "$root/bench/gemm/cublas_peer.py" --dtypes=bf16 --problems="$peer" \
  >"$log/cublas.txt" 2>&1 || { status=1; tail -3 "$log/cublas.txt"; }
grep '^PEER' "$log/cublas.txt" | sed 's/^/    /'

say "2. gpt2-base (vocab 50257): sm_90a vs the host backend"
wait $exporter
[[ -f $work/$m/meta.json ]] || { tail -5 "$log/export.log"; fail_setup "export of $m failed"; }
dims=(--dim batch=2 --dim seq=1..128 --dim past=0..127 --dim total=1..255 --dtype=bf16)
"$bin/effc" "$work/$m/model.onnx" "${dims[@]}" --arch=sm_90a --remarks -o "$work/kmajor.effc" \
  >"$log/effc-kmajor.log" 2>"$log/kmajor.remarks" &
"$bin/effc" "$work/$m/model.onnx" "${dims[@]}" --arch=sm_90a --gemm=mma --remarks \
  -o "$work/mma.effc" >"$log/effc-mma.log" 2>"$log/mma.remarks" &
"$bin/effc" "$work/$m/model.onnx" "${dims[@]}" --host-only -o "$work/host.effc" \
  >"$log/effc-host.log" 2>&1 &
wait
for a in kmajor mma host; do
  [[ -f $work/$a.effc ]] || { status=1; echo "  effc $a: FAIL"; tail -3 "$log/effc-$a.log"; }
done
check_remark() { # FILE PATTERN WHAT
  if grep -q -- "$2" "$1"; then echo "  remarks: $3: PASS"; else
    status=1
    echo "  remarks: $3: FAIL (no '$2' in $1)"
  fi
}
check_remark "$log/kmajor.remarks" "eff-k-major-weights: weight \[768, 50257\] .* stored \[50257, 768\]" \
  "sm_90a stores the LM head weight [N, K]"
check_remark "$log/kmajor.remarks" "256x50257x768: TMA wgmma kernel" \
  "sm_90a LM head on the TMA kernel"
if grep -q "eff-k-major-weights" "$log/mma.remarks"; then
  status=1
  echo "  remarks: --gemm=mma keeps the weight [K, N]: FAIL"
else
  echo "  remarks: --gemm=mma keeps the weight [K, N]: PASS"
fi
python3 - "$work" <<'EOF'
import json, os, sys, numpy as np
work = sys.argv[1]
meta = json.load(open(f"{work}/gpt2-base/meta.json"))
rng = np.random.default_rng(7)
for name, past, seq in (("prefill", 0, 64), ("decode", 63, 1)):
    d = f"{work}/in-{name}"
    os.makedirs(d, exist_ok=True)
    inputs = {
        "input_ids": rng.integers(0, meta["vocab"], (2, seq)).astype(np.int64),
        "attention_mask": np.ones((2, past + seq), np.int64),
        "position_ids": np.tile(np.arange(past, past + seq, dtype=np.int64), (2, 1)),
    }
    for layer in range(meta["layers"]):
        for kind in ("key", "value"):
            inputs[f"past_key_values.{layer}.{kind}"] = rng.standard_normal(
                (2, meta["kv_heads"], past, meta["head_dim"])).astype(np.float32)
    for k, v in inputs.items():
        np.save(f"{d}/{k}.npy", v)
EOF
ref_ok=1
for name in prefill decode; do
  args=()
  for f in "$work/in-$name"/*.npy; do args+=(--input "$(basename "$f" .npy)=$f"); done
  rm -rf "$work/ref-$name" && mkdir -p "$work/ref-$name" # --save-test-data writes into a directory
  timeout 300 "$bin/effc-run" "$work/host.effc" --backend=host "${args[@]}" \
    --save-test-data "$work/ref-$name" >"$log/host-$name.txt" 2>&1 ||
    { ref_ok=0; status=1; echo "  host reference $name: FAIL"; tail -3 "$log/host-$name.txt"; }
done
if [[ $ref_ok == 1 && -f $work/kmajor.effc ]]; then
  if timeout 300 "$bin/effc-run" "$work/kmajor.effc" --backend=cuda --test-data "$work/ref-prefill" \
    --then-test-data "$work/ref-decode" --rtol 3e-2 >"$log/cuda-check.txt" 2>&1; then
    echo "  sm_90a (weight [N, K]) vs host, prefill seq 64 + decode step: PASS"
  else
    status=1
    echo "  sm_90a (weight [N, K]) vs host, prefill seq 64 + decode step: FAIL"
  fi
  grep -E 'output|then' "$log/cuda-check.txt" | sed 's/^/    /'
fi

say "3. the LM head kernel in each artifact's profile (batch 2, prefill seq 128, past 0)"
for a in kmajor mma; do
  [[ -f $work/$a.effc ]] || continue
  timeout 120 "$bin/effc-run" "$work/$a.effc" --verbose --random-inputs 1 \
    --dim seq=128 --dim past=0 --dim total=128 >"$log/profile-$a.txt" 2>&1 ||
    { status=1; tail -3 "$log/profile-$a.txt"; }
  echo "--- $a: top kernels"
  grep -A6 '^ *ms *%' "$log/profile-$a.txt"
done
echo "wgmma_misaligned: $([[ $status == 0 ]] && echo PASS || echo FAIL) in $((SECONDS - start)) s (logs: $log)"
exit $status
