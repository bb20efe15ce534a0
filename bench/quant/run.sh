#!/usr/bin/env bash
# effc-quant-bench on the GPU machine: --check (every quant_linear scheme and
# kernel variant against the host reference) and the perf table (int8, nf4,
# MatMulNBits-style int4 vs cuBLAS bf16/fp16, with the bandwidth floor), in
# one run of about a minute.
#
#   bench/quant/run.sh [effc-quant-bench args]    (BENCH=path, default build/bin/effc-quant-bench)
#
# Decode (M <= 16) before/after on one card: --perf --rows=1,4,16 and the same
# with --decode=vec (gemv_vec, the kernel before quant_linear_gemv_mma); add
# --graphs to time each round as one CUDA graph (no CPU launch gaps: without
# it every M=1 kernel here measured ~5 us a launch, cuBLAS included).
# bench/quant/decode_compare.sh runs all of that (vec / mma / default, with
# and without graphs, plus the prefill rows) and prints one table.
#
# cuBLAS is dlopen()ed: the first libcublas.so.* the loader finds, else the
# one in torch's nvidia-cublas wheel when python3 has it.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bench=${BENCH:-$root/build/bin/effc-quant-bench}
args=()
if ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so'; then
  lib=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null)
  for f in "$lib"/libcublas.so.*; do
    [ -f "$f" ] && { args+=("--cublas=$f"); export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"; break; }
  done
fi
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader 2>/dev/null
exec "$bench" "${args[@]}" "$@"
