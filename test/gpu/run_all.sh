#!/usr/bin/env bash
# Everything the CUDA backend is checked and measured by, in one run on a
# machine with an NVIDIA GPU, torch and transformers (tens of minutes: the
# Llama-1B export alone takes ~2 minutes):
#   test/gpu/run_all.sh BIN_DIR EXPORT_SCRIPT [GEMM_BENCH_BIN_DIR]
# BIN_DIR: effc, effc-run, effc-nvrtc-check; EXPORT_SCRIPT: export_hf_onnx.py.
# Prints the tables of each part last.
set -uo pipefail
bin=$1; export_script=$2; gemm_bin=${3:-}
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/../.." && pwd)
log=${OUT:-/tmp}/gpu-run-all; mkdir -p "$log"
status=0
"$here/check_all.sh" "$bin" > "$log/check_all.txt" 2>&1 || status=1
"$here/attention_long.sh" "$bin" > "$log/attention_long.txt" 2>&1 || status=1
"$here/decode_check.sh" "$bin" > "$log/decode_check.txt" 2>&1 || status=1
EFFC_BENCH_CONFIGS="gpt2:base:1:512:fp32 gpt2:base:8:512:fp32 gpt2:base:1:512:bf16 gpt2:base:2:512:bf16 \
gpt2:base:8:512:bf16 gpt2:base:1:2048:bf16 gpt2:base:1:2048:bf16:--raise-attention=false \
llama:1b:1:512:bf16 llama:1b:8:512:bf16" \
  "$repo/bench/models/run.sh" "$bin" "$export_script" > "$log/models.txt" 2>"$log/models.err" || status=1
[ -n "$gemm_bin" ] && export BENCH="$gemm_bin/effc-gemm-bench"
"$repo/bench/gemm/run.sh" > "$log/gemm.txt" 2>&1 || status=1
echo "== numerics (check_all)"; sed -n '/check_all summary/,$p' "$log/check_all.txt"
echo "== one attention at N=65536"; tail -3 "$log/attention_long.txt"
echo "== decode step, split-KV"; sed -n '/=== max errors/,$p' "$log/decode_check.txt"
echo "== whole-model latency"; sed -n '/^config/,$p' "$log/models.txt"
echo "== GEMMs vs cuBLAS"; sed -n '/^shape/,$p' "$log/gemm.txt"
exit $status
