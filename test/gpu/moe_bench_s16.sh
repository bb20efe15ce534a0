#!/usr/bin/env bash
# Issue 18's MoE kernel timings, old tiles beside new, and the torch baselines
# in the same run (one GPU call; an estimated 3-5 minutes on an H100, not
# measured: NVRTC compiles dominate. Split over two calls, phases 2 and 3
# are comparable only on the same card):
#   test/gpu/moe_bench_s16.sh stage DEST     (dev machine, after building
#                                             effc-moe-bench; DEST e.g. .gpu-moe/s16: carry it)
#   bash DEST/moe_bench_s16.sh run DEST [PHASES]   (GPU machine, repo root;
#                                             PHASES e.g. "1 2" or "3", default "1 2 3"
#                                             to split the run over two calls)
# run:
#   1. effc-moe-bench --check with the default tiles (k-tile 64 where KD % 64
#      == 0, B tile 128), with --mma-bn=256 at k-tiles 64 and 32, with the
#      previous default --mma-bk=32 --mma-bn=128, and with --wgmma (sm_90a
#      only: the wgmma grouped GEMM where its sizes fit)
#   2. effc-moe-bench --perf at every token count (defaults: n128k64; decode
#      rows are the route/GEMV kernels), then the prefill sizes (512, 4096)
#      with n128k32 (the previous default), n256k64, wgmma, n256k32, and the
#      decode sizes (1, 8) with --gemv-unroll=4
#   3. bench/moe/torch_moe.py: HF's MoE block, torch eager and
#      torch._grouped_mm on the same layers (skipped without torch)
# Exit 1 when any check fails.
set -uo pipefail
mode=${1:?stage|run} dest=${2:?DEST}
if [ "$mode" = stage ]; then
  here=$(cd "$(dirname "$0")" && pwd)
  repo=$(cd "$here/../.." && pwd)
  set -e
  rm -rf "$dest" && mkdir -p "$dest/bin"
  strip -o "$dest/bin/effc-moe-bench" "$repo/build/bin/effc-moe-bench"
  cp "$repo/bench/moe/torch_moe.py" "$0" "$dest/"
  echo "staged $dest ($(du -sh "$dest" | cut -f1))"
  exit 0
fi
fail=0
if ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so'; then
  lib=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null)
  for f in "$lib"/libcublas.so.*; do
    [ -f "$f" ] && { export EFFC_CUBLAS=$f LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"; break; }
  done
fi
bench="$dest/bin/effc-moe-bench"
phases=" ${3:-1 2 3} "
on() { case "$phases" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader 2>/dev/null
if on 1; then
  echo "== 1. effc-moe-bench --check (the five in parallel: NVRTC compiles dominate)"
  checks="default: n256k64:--mma-bn=256_--mma-bk=64 n256k32:--mma-bn=256_--mma-bk=32 n128k32:--mma-bn=128_--mma-bk=32 wgmma:--wgmma"
  pids=""
  for t in $checks; do
    name=${t%%:*} flags=${t#*:}
    # shellcheck disable=SC2086
    "$bench" --check ${flags//_/ } > "$dest/check-$name.log" 2>&1 &
    pids="$pids $!"
  done
  for p in $pids; do wait "$p" || fail=1; done
  for t in $checks; do
    name=${t%%:*}
    echo "-- $name: $(grep -c ' PASS$' "$dest/check-$name.log") pass, $(grep -c -E ' FAIL( \(|$)' "$dest/check-$name.log") fail; $(tail -n 1 "$dest/check-$name.log")"
    grep -h -E ' FAIL( \(|$)' "$dest/check-$name.log" | head -5
  done
fi
if on 2; then
  echo "== 2. effc-moe-bench --perf ($(date +%T))"
  "$bench" --perf > "$dest/perf-default.log" 2>&1 || fail=1
  echo "-- default tiles, all token counts"
  sed -n '/^layer/,$p' "$dest/perf-default.log"
  grep -h -E ' FAIL( \(|$)' "$dest/perf-default.log" | head -5
  for t in "n128k32:--mma-bn=128 --mma-bk=32" "n256k64:--mma-bn=256 --mma-bk=64" "wgmma:--wgmma" \
           "n256k32:--mma-bn=256 --mma-bk=32"; do
    name=${t%%:*} flags=${t#*:}
    # shellcheck disable=SC2086
    "$bench" --perf --tokens=512,4096 --reps=10 $flags > "$dest/perf-$name.log" 2>&1 || fail=1
    echo "-- $name ($flags)"
    sed -n '/^layer/,$p' "$dest/perf-$name.log" | grep -v '^layer'
  done
  "$bench" --perf --tokens=1,8 --gemv-unroll=4 > "$dest/perf-unroll4.log" 2>&1 || fail=1
  echo "-- decode, --gemv-unroll=4 (default 1 above)"
  sed -n '/^layer/,$p' "$dest/perf-unroll4.log" | grep -v '^layer'
fi
if on 3; then
  echo "== 3. torch baselines (same GPU, $(date +%T))"
  if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    python3 "$dest/torch_moe.py" --reps=10 2>&1 | tail -n 40 || fail=1
  else
    echo "torch with CUDA not importable: skipped"
  fi
fi
echo "moe_bench_s16: $([ $fail = 0 ] && echo 'all checks pass' || echo 'FAILURES (logs in DEST/*.log)')"
exit $fail
