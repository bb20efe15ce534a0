#!/usr/bin/env bash
# --moe-partitions on one MoE model: compiled with N = 1, 2 and 4 expert
# groups per MoE layer, each artifact run on the host backend against the
# reference of DATA (the shapes come from DATA's inputs), and N = 2 and 4
# against N = 1's own outputs within 1e-5 relative (the partitioned layers
# give the unpartitioned output up to the order of fp32 additions; the
# reference tolerance is 1e-4).
#   test/e2e/run_moe_partitions.sh MODEL_DIR DATA_DIR BIN_DIR [effc args...]
set -euo pipefail
model_dir=$1; data=$2; bin_dir=$3; shift 3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
dims=$(python3 "$here/../lit/Inputs/dims_from_test_data.py" "$model_dir/model.onnx" "$data")
for n in 1 2 4; do
  # shellcheck disable=SC2086
  "$bin_dir/effc" "$model_dir/model.onnx" $dims --moe-partitions=$n -o "$work/n$n.effc" "$@" \
    --emit=mlir > "$work/n$n.mlir"
  groups=$(grep -c "eff.moe_experts" "$work/n$n.mlir" || true)
  layers=$(grep -c "eff.moe_route" "$work/n$n.mlir" || true)
  if [ "$n" = 1 ]; then
    # eff.moe, or its stage kernels (eff-lower-moe) with one eff.moe_route each
    layers=$(grep -c "eff.moe \|eff.moe_route" "$work/n$n.mlir" || true)
    [ "$layers" -gt 0 ] || { echo "no eff.moe in $model_dir" >&2; exit 1; }
    [ "$groups" = 0 ] || { echo "N=1 partitioned an eff.moe" >&2; exit 1; }
    moes=$layers
  else
    [ "$layers" = "$moes" ] || { echo "N=$n: $layers eff.moe_route for $moes eff.moe" >&2; exit 1; }
    [ "$groups" -gt "$layers" ] || { echo "N=$n: $groups groups for $layers layers" >&2; exit 1; }
  fi
  # shellcheck disable=SC2086
  "$bin_dir/effc" "$model_dir/model.onnx" $dims --moe-partitions=$n -o "$work/n$n.effc" "$@"
  if [ "$n" = 1 ]; then
    mkdir -p "$work/n1-data"
    "$bin_dir/effc-run" "$work/n1.effc" --backend=host --test-data "$data" \
      --save-test-data "$work/n1-data"
  else
    echo "N=$n against the reference:"
    "$bin_dir/effc-run" "$work/n$n.effc" --backend=host --test-data "$data"
    echo "N=$n against N=1:"
    "$bin_dir/effc-run" "$work/n$n.effc" --backend=host --test-data "$work/n1-data" --rtol 1e-5
  fi
done
echo "moe-partitions: $moes MoE layers, N=2 and 4 give N=1's output"
