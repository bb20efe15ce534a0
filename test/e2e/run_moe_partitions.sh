#!/usr/bin/env bash
# --moe-partitions on one MoE model: compiled with N = 1, 2 and 4 expert
# groups per MoE layer, each artifact run on the host backend against the
# reference of DATA (the shapes come from DATA's inputs), and the comparison
# lines of N = 2 and 4 must be those of N = 1 (the same errors to the last
# printed digit: the partitioned layers give the unpartitioned output).
#   test/e2e/run_moe_partitions.sh MODEL_DIR DATA_DIR BIN_DIR [effc args...]
set -euo pipefail
model_dir=$1; data=$2; bin_dir=$3; shift 3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
dims=$(python3 "$here/../lit/Inputs/dims_from_test_data.py" "$model_dir/model.onnx" "$data")
first=""
for n in 1 2 4; do
  # shellcheck disable=SC2086
  "$bin_dir/effc" "$model_dir/model.onnx" $dims --moe-partitions=$n -o "$work/n$n.effc" "$@" \
    --emit=mlir > "$work/n$n.mlir"
  groups=$(grep -c "eff.moe_experts" "$work/n$n.mlir" || true)
  layers=$(grep -c "eff.moe_route" "$work/n$n.mlir" || true)
  if [ "$n" = 1 ]; then
    layers=$(grep -c "eff.moe " "$work/n$n.mlir" || true)
    [ "$layers" -gt 0 ] || { echo "no eff.moe in $model_dir" >&2; exit 1; }
    [ "$groups" = 0 ] || { echo "N=1 partitioned an eff.moe" >&2; exit 1; }
    moes=$layers
  else
    [ "$layers" = "$moes" ] || { echo "N=$n: $layers eff.moe_route for $moes eff.moe" >&2; exit 1; }
    [ "$groups" -gt "$layers" ] || { echo "N=$n: $groups groups for $layers layers" >&2; exit 1; }
  fi
  # shellcheck disable=SC2086
  "$bin_dir/effc" "$model_dir/model.onnx" $dims --moe-partitions=$n -o "$work/n$n.effc" "$@"
  "$bin_dir/effc-run" "$work/n$n.effc" --backend=host --test-data "$data" > "$work/n$n.txt"
  cat "$work/n$n.txt"
  grep -q PASS "$work/n$n.txt"
  if [ -z "$first" ]; then
    first=$work/n$n.txt
  elif ! cmp -s "$first" "$work/n$n.txt"; then
    echo "N=$n differs from N=1:" >&2; diff "$first" "$work/n$n.txt" >&2; exit 1
  fi
done
echo "moe-partitions: $moes MoE layers, N=1,2,4 give the same output"
