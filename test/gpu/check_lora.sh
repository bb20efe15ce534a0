#!/usr/bin/env bash
# LoRA numerics on a GPU machine: every ../shared/lora/<arch> model, merged,
# unmerged and with two indexed adapters (a mixed batch), on the cuda backend
# against the PEFT references: fp32 within 1e-3, bf16 within 2e-2.
#   test/gpu/check_lora.sh [BIN_DIR] [LORA_DIR]
# Prints one line per (model, dtype, mode) and a summary; exit 1 on any FAIL.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=${1:-$repo/build/bin}
lora_dir=${2:-$repo/../shared/lora}
fails=0; rows=()
for model_dir in "$lora_dir"/*/; do
  model=$(basename "$model_dir")
  for dtype in fp32 bf16; do
    rtol=1e-3; [ "$dtype" = bf16 ] && rtol=2e-2
    for mode in base merged unmerged indexed; do
      log=$(python3 "$repo/test/e2e/run_lora.py" "$model_dir" "$bin_dir" "$mode" --backend cuda \
              --dtype "$dtype" --rtol "$rtol" 2>&1)
      rc=$?
      status=PASS; [ $rc -eq 0 ] || { status=FAIL; fails=$((fails + 1)); echo "$log" | tail -20; }
      errs=$(echo "$log" | grep -o 'max_rel_err=[0-9.e+-]*' | sed 's/max_rel_err=//' | tr '\n' ' ')
      rows+=("$(printf '%-8s %-5s %-9s %-5s max_rel_err: %s' "$model" "$dtype" "$mode" "$status" "$errs")")
      echo "${rows[-1]}"
    done
  done
done
printf '\n%s\n' "${rows[@]}"
echo "LoRA GPU check: $fails failure(s)"
[ "$fails" -eq 0 ]
