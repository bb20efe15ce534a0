#!/usr/bin/env bash
# --devices-attention=ring on one model (issue 20): compiled for N = 2 and 4
# devices, every eff.attention of the one-device IR must become an
# eff.ring_attention (none left), then test/e2e/run_devices.sh compiles N =
# 1, 2, 4 with the ring and runs them on the host backend (N simulated
# devices: the K/V blocks hop through HostCollectives' sendRecv, partial
# results merged by log-sum-exp) against the reference and N = 1's outputs
# (1e-5 relative).
#   test/e2e/run_ring_attention.sh MODEL_DIR DATA_DIR BIN_DIR [effc args...]
set -euo pipefail
model_dir=$1; data=$2; bin_dir=$3; shift 3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
dims=$(python3 "$here/../lit/Inputs/dims_from_test_data.py" "$model_dir/model.onnx" "$data")
# shellcheck disable=SC2086
"$bin_dir/effc" "$model_dir/model.onnx" $dims "$@" --emit=mlir > "$work/n1.mlir"
attention=$(grep -c ' = eff.attention ' "$work/n1.mlir" || true)
[ "$attention" -gt 0 ] || { echo "the one-device IR has no eff.attention" >&2; exit 1; }
for n in 2 4; do
  # shellcheck disable=SC2086
  "$bin_dir/effc" "$model_dir/model.onnx" $dims --devices=$n --devices-attention=ring "$@" \
    --emit=mlir > "$work/n$n.mlir"
  ring=$(grep -c ' = eff.ring_attention ' "$work/n$n.mlir" || true)
  left=$(grep -c ' = eff.attention ' "$work/n$n.mlir" || true)
  [ "$ring" = "$attention" ] && [ "$left" = 0 ] || {
    echo "N=$n: $ring of $attention attentions ringed, $left left" >&2; exit 1; }
  echo "N=$n: all $ring attentions are ring attention"
done
bash "$here/run_devices.sh" "$model_dir" "$data" "$bin_dir" --devices-attention=ring "$@"
