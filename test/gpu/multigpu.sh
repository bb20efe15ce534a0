#!/usr/bin/env bash
# Issue 20 on GPUs: the collectives (runtime/src/Collectives.h) against the
# host simulation, then the communication benchmark where several GPUs exist.
#   test/gpu/multigpu.sh stage DEST    (dev machine: DEST/bin/effc-multigpu-bench, stripped;
#                                       DEST ignored by git: carry it)
#   bash DEST/multigpu.sh run DEST     (GPU machine, repo root)
# run:
#   1. effc-multigpu-bench --check-streams=N for N = 2, 4, 8: N simulated
#      devices as N streams of GPU 0 (any machine with one GPU)
#   2. with >= 2 GPUs: --check (NCCL over all GPUs; needs libnccl.so.2, e.g.
#      pip's nvidia-nccl: the loader searches site-packages/nvidia/nccl/lib)
#      and --bench --gpus=1,2,4,8 up to the GPU count
#   With one GPU, step 2 prints that it needs several and the script exits 2,
#   so a one-GPU run is never mistaken for the multi-GPU check.
# Exit 1 when any check fails.
set -uo pipefail
mode=${1:?stage|run} dest=${2:?DEST}
if [ "$mode" = stage ]; then
  here=$(cd "$(dirname "$0")" && pwd)
  repo=$(cd "$here/../.." && pwd)
  set -e
  rm -rf "$dest" && mkdir -p "$dest/bin"
  strip -o "$dest/bin/effc-multigpu-bench" "$repo/build/bin/effc-multigpu-bench"
  cp "$here/multigpu.sh" "$dest/"
  du -sh "$dest"
  exit 0
fi
[ "$mode" = run ] || { echo "usage: $0 stage|run DEST" >&2; exit 1; }
bench="$dest/bin/effc-multigpu-bench"
status=0
for n in 2 4 8; do
  echo "== --check-streams=$n"
  "$bench" --check-streams=$n || status=1
done
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
echo "== GPUs: $gpus"
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
