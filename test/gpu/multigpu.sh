#!/usr/bin/env bash
# Issue 20 on GPUs: the collectives (runtime/src/Collectives.h) against the
# host simulation, partitioned artifacts (effc --devices=N) on the cuda
# backend, then the communication benchmark where several GPUs exist.
#   test/gpu/multigpu.sh stage DEST    (dev machine: DEST/bin/effc-multigpu-bench and
#                                       effc-run, stripped; DEST/art: gpt2, llama and
#                                       mixtral-dynamo compiled with --devices=2 and 4 for
#                                       sm_90 with embedded cubins, mixtral-dynamo also with
#                                       --expert-parallel=all-to-all (mixtral-dynamo-a2a:
#                                       eff.expert_dispatch/combine; also N = 3),
#                                       llama-dynamo (causal, striped) and bert-dynamo
#                                       (full, contiguous) with --devices-attention=ring
#                                       (llama-dynamo-ring, bert-dynamo-ring:
#                                       eff.ring_attention), their test data and the
#                                       host backend's outputs of the same artifacts;
#                                       DEST ignored by git: carry it)
#   bash DEST/multigpu.sh run DEST     (GPU machine, repo root)
# run:
#   1. effc-multigpu-bench --check-streams=N for N = 2, 4, 8: N simulated
#      devices as N streams of GPU 0 (any machine with one GPU)
#   2. effc-run --backend=cuda --devices=N on each staged artifact: with fewer
#      GPUs than N every device is a stream of GPU 0 (cuda/MultiDeviceSession:
#      per-device arenas, StreamCollectives between them); its outputs against
#      the test data (the ONNX reference, effc-run's default tolerance) and
#      against the host backend's N simulated devices (--rtol 1e-4). With >= N
#      GPUs the same artifact runs once over NCCL and once with
#      EFFC_COLLECTIVES=streams.
#   3. with >= 2 GPUs: --check (NCCL over all GPUs; needs libnccl.so.2, e.g.
#      pip's nvidia-nccl: the loader searches site-packages/nvidia/nccl/lib)
#      and --bench --gpus=1,2,4,8 up to the GPU count
#   With one GPU, step 3 prints that it needs several and the script exits 2,
#   so a one-GPU run is never mistaken for the multi-GPU check. NVLink
#   multicast stays off (NCCL_NVLS_ENABLE=0).
# The a2a artifacts' exchange kernels (expert_exchange.cuh) are compiled
# by NVRTC on the GPU machine (pip's nvidia-cuda-nvrtc) when the session
# starts; counts come to the host once per exchange (cuda/ExpertExchange).
# The ring artifacts' block kernels (ring_attention.cuh) likewise; their K/V
# blocks hop by Collectives::sendRecv, N hops an attention (cuda/RingAttention).
# Exit 1 when any check fails. One GPU: about 2 minutes (15 artifacts, cubins
# embedded; NVRTC compiles the exchange and ring kernels at session start).
set -uo pipefail
mode=${1:?stage|run} dest=${2:?DEST}
models="gpt2-dynamo llama-dynamo mixtral-dynamo"
if [ "$mode" = stage ]; then
  here=$(cd "$(dirname "$0")" && pwd)
  repo=$(cd "$here/../.." && pwd)
  shared=${EFFC_SHARED:-$repo/../shared}
  set -e
  rm -rf "$dest" && mkdir -p "$dest/bin" "$dest/art"
  strip -o "$dest/bin/effc-multigpu-bench" "$repo/build/bin/effc-multigpu-bench"
  strip -o "$dest/bin/effc-run" "$repo/build/bin/effc-run"
  for m in $models; do
    onnx=$shared/models/$m/model.onnx data=$shared/models/$m/test_data_set_0
    cp -r "$data" "$dest/art/$m-data"
    dims=$(python3 "$repo/test/lit/Inputs/dims_from_test_data.py" "$onnx" "$data")
    for n in 2 4; do
      # shellcheck disable=SC2086
      "$repo/build/bin/effc" "$onnx" $dims --devices=$n --arch=sm_90 --embed-cubin \
        -o "$dest/art/$m-n$n.effc"
      mkdir -p "$dest/art/$m-n$n-host"
      "$repo/build/bin/effc-run" "$dest/art/$m-n$n.effc" --backend=host --devices=$n \
        --test-data "$data" --save-test-data "$dest/art/$m-n$n-host" > /dev/null
    done
  done
  # Expert parallelism: token shards exchanged by all-to-all-v.
  m=mixtral-dynamo onnx=$shared/models/mixtral-dynamo/model.onnx
  data=$shared/models/$m/test_data_set_0
  cp -r "$data" "$dest/art/$m-a2a-data"
  dims=$(python3 "$repo/test/lit/Inputs/dims_from_test_data.py" "$onnx" "$data")
  for n in 2 3 4; do # 3: shards of 10, 11, 11 tokens (an uneven all-gather)
    # shellcheck disable=SC2086
    "$repo/build/bin/effc" "$onnx" $dims --devices=$n --expert-parallel=all-to-all \
      --arch=sm_90 --embed-cubin -o "$dest/art/$m-a2a-n$n.effc"
    mkdir -p "$dest/art/$m-a2a-n$n-host"
    "$repo/build/bin/effc-run" "$dest/art/$m-a2a-n$n.effc" --backend=host --devices=$n \
      --test-data "$data" --save-test-data "$dest/art/$m-a2a-n$n-host" > /dev/null
  done
  # Ring attention: the sequence cut over the devices, K/V around the ring.
  for spec in llama-dynamo:striped bert-dynamo:contiguous; do
    m=${spec%%:*} layout=${spec#*:}
    onnx=$shared/models/$m/model.onnx data=$shared/models/$m/test_data_set_0
    cp -r "$data" "$dest/art/$m-ring-data"
    dims=$(python3 "$repo/test/lit/Inputs/dims_from_test_data.py" "$onnx" "$data")
    for n in 2 4; do
      # shellcheck disable=SC2086
      "$repo/build/bin/effc" "$onnx" $dims --devices=$n --devices-attention=ring \
        --ring-layout=$layout --arch=sm_90 --embed-cubin -o "$dest/art/$m-ring-n$n.effc"
      # shellcheck disable=SC2086
      rings=$("$repo/build/bin/effc" "$onnx" $dims --devices=$n --devices-attention=ring \
        --ring-layout=$layout --emit=mlir | grep -c ' = eff.ring_attention ' || true)
      [ "$rings" -gt 0 ] || { echo "$m --devices=$n: no eff.ring_attention" >&2; exit 1; }
      mkdir -p "$dest/art/$m-ring-n$n-host"
      "$repo/build/bin/effc-run" "$dest/art/$m-ring-n$n.effc" --backend=host --devices=$n \
        --test-data "$data" --save-test-data "$dest/art/$m-ring-n$n-host" > /dev/null
    done
  done
  cp "$here/multigpu.sh" "$dest/"
  du -sh "$dest"
  exit 0
fi
[ "$mode" = run ] || { echo "usage: $0 stage|run DEST" >&2; exit 1; }
export NCCL_NVLS_ENABLE=0
bench="$dest/bin/effc-multigpu-bench" run="$dest/bin/effc-run"
status=0
for n in 2 4 8; do
  echo "== --check-streams=$n"
  "$bench" --check-streams=$n || status=1
done
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
echo "== GPUs: $gpus"
# One artifact on the cuda backend: against the reference and the host run.
check_artifact() { # MODEL N [ENV...]
  local m=$1 n=$2 art="$dest/art/$1-n$2.effc"
  shift 2
  echo "== $m --devices=$n ${*:-} (cuda) against the test data"
  env "$@" EFFC_VERBOSE=1 "$run" "$art" --backend=cuda --devices="$n" \
    --test-data "$dest/art/$m-data" || status=1
  echo "== $m --devices=$n ${*:-} (cuda) against the host backend's $n devices"
  env "$@" "$run" "$art" --backend=cuda --devices="$n" --test-data "$dest/art/$m-n$n-host" \
    --rtol 1e-4 || status=1
}
for m in $models mixtral-dynamo-a2a llama-dynamo-ring bert-dynamo-ring; do
  ns="2 4"
  [ "$m" = mixtral-dynamo-a2a ] && ns="2 3 4"
  for n in $ns; do
    if [ "$gpus" -ge "$n" ]; then
      check_artifact "$m" "$n" EFFC_COLLECTIVES=nccl
      check_artifact "$m" "$n" EFFC_COLLECTIVES=streams
    else
      check_artifact "$m" "$n"
    fi
  done
done
if [ "$gpus" -lt 2 ]; then
  echo "multigpu.sh: $gpus GPU(s): the NCCL check and the benchmark need at least 2 (not run)"
  [ "$status" -eq 0 ] && exit 2
  exit "$status"
fi
echo "== --check (NCCL, $gpus GPUs)"
"$bench" --check --gpus=$gpus || status=1
list=1
for n in 2 4 8; do [ "$n" -le "$gpus" ] && list="$list,$n"; done
echo "== --bench --gpus=$list"
"$bench" --bench --gpus=$list || status=1
exit "$status"
