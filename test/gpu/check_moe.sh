#!/usr/bin/env bash
# The MoE models of ../shared on the GPU (eff.moe, issue 18): first that each
# compiles with one eff.moe per MoE layer and no per-token expert weight
# gather (eff.gather_nd) left, then check_all.sh over exactly these models:
# cuda backend, fp32 at rtol 1e-4 and bf16 at 2e-2 against every
# test_data_set_N, kernels through NVRTC for sm_80/sm_90.
#
#   test/gpu/check_moe.sh [BIN_DIR]
#     BIN_DIR  effc, effc-run, effc-nvrtc-check (default: build/bin)
#     SHARED   the shared data (default: ../shared next to the repo)
#     OUT      logs go to $OUT/check_all (default /tmp/check_all)
# Exits 1 if a model is missing, is not raised, or any row fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:-$repo/build/bin}
shared=${SHARED:-$repo/../shared}
# model dir (under $shared) and its MoE layer count
moe_models=(models/mixtral-dynamo:2 decoders/mixtral:2 decoders/qwen2moe:2
            zoo/qwen3moe-dynamo:2 zoo/deepseek_v3-dynamo:1)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail=0
for entry in "${moe_models[@]}"; do
  model=${entry%%:*} layers=${entry##*:}
  if [[ ! -f $shared/$model/model.onnx ]]; then
    echo "FAIL $model: missing"; fail=1; continue
  fi
  ir=$("$bin/effc" "$shared/$model/model.onnx" --dim batch=2 --dim seq=16 --emit=mlir 2>&1)
  moes=$(grep -c -E ' = eff\.moe(_combine)? ' <<<"$ir") gathers=$(grep -c ' = eff.gather_nd ' <<<"$ir")
  if [[ $moes != "$layers" || $gathers != 0 ]]; then
    echo "FAIL $model: $moes eff.moe (want $layers), $gathers eff.gather_nd (want 0)"; fail=1
  else
    echo "ok   $model: $moes eff.moe, no per-token expert gather"
  fi
  ln -s "$shared/$model" "$dir/$(basename "$model")-$(basename "$(dirname "$model")")"
done
EFFC_MODELS=$dir bash "$here/check_all.sh" "$bin" || fail=1
exit $fail
