#!/usr/bin/env bash
# --devices on one model (issue 20): compiled for N = 1, 2 and 4 devices and
# run on the host backend with effc-run --devices=N (N simulated devices, one
# arena each: placed kernels on their device, replicated ones on every
# device, collectives reading the producing device's buffers; a read of
# another device's data outside a collective fails the run), against the
# reference of DATA (the shapes come from DATA's inputs) and against N = 1's
# own outputs within 1e-5 relative (column-parallel linears give the same dot
# products; row-parallel linears and MoE expert groups differ only in the
# order of fp32 additions). The IR must carry the plan: eff.device tags and
# the collective ops (eff.all_gather; eff.all_reduce for MoE models, or with
# --expert-parallel=all-to-all an eff.expert_dispatch / eff.expert_combine
# pair a MoE layer).
#   test/e2e/run_devices.sh MODEL_DIR DATA_DIR BIN_DIR [effc args...]
set -euo pipefail
model_dir=$1; data=$2; bin_dir=$3; shift 3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
dims=$(python3 "$here/../lit/Inputs/dims_from_test_data.py" "$model_dir/model.onnx" "$data")
for n in 1 2 4; do
  # shellcheck disable=SC2086
  "$bin_dir/effc" "$model_dir/model.onnx" $dims --devices=$n "$@" --emit=mlir > "$work/n$n.mlir"
  tagged=$(grep -c "eff.device = " "$work/n$n.mlir" || true)
  gathers=$(grep -c ' = eff.all_gather ' "$work/n$n.mlir" || true)
  reduces=$(grep -c ' = eff.all_reduce ' "$work/n$n.mlir" || true)
  moe=$(grep -c "eff.moe" "$work/n$n.mlir" || true)
  if [ "$n" = 1 ]; then
    [ "$tagged" = 0 ] || { echo "N=1 placed $tagged ops on devices" >&2; exit 1; }
  else
    [ "$tagged" -gt 0 ] || { echo "N=$n: no op placed on a device" >&2; exit 1; }
    [ "$gathers" -gt 0 ] || { echo "N=$n: no column-parallel linear" >&2; exit 1; }
    if [[ " $* " == *" --expert-parallel=all-to-all "* ]]; then
      # expert parallelism: every MoE layer exchanges its token shards
      dispatches=$(grep -c ' = eff.expert_dispatch ' "$work/n$n.mlir" || true)
      combines=$(grep -c ' = eff.expert_combine ' "$work/n$n.mlir" || true)
      if [ "$dispatches" = 0 ] || [ "$dispatches" != "$combines" ]; then
        echo "N=$n: $dispatches expert dispatches, $combines combines (want one each a MoE layer)" >&2
        exit 1
      fi
      echo "N=$n: $dispatches MoE layers exchange their tokens (all-to-all)"
    elif [ "$moe" -gt 0 ] && [ "$reduces" = 0 ]; then
      echo "N=$n: MoE layers but no all-reduce over expert groups" >&2; exit 1
    fi
    echo "N=$n: $tagged ops on devices, $gathers all-gathers, $reduces all-reduces"
  fi
  # shellcheck disable=SC2086
  "$bin_dir/effc" "$model_dir/model.onnx" $dims --devices=$n -o "$work/n$n.effc" "$@"
  if [ "$n" = 1 ]; then
    mkdir -p "$work/n1-data"
    "$bin_dir/effc-run" "$work/n1.effc" --backend=host --test-data "$data" \
      --save-test-data "$work/n1-data"
  else
    echo "N=$n ($n simulated devices) against the reference:"
    "$bin_dir/effc-run" "$work/n$n.effc" --backend=host --devices=$n --test-data "$data"
    echo "N=$n ($n simulated devices) against N=1:"
    "$bin_dir/effc-run" "$work/n$n.effc" --backend=host --devices=$n --test-data "$work/n1-data" \
      --rtol 1e-5
  fi
done
echo "devices: N=2 and 4 give N=1's output"
