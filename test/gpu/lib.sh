# shellcheck shell=bash
# Sourced by the GPU check and benchmark scripts (test/gpu, bench/*/run.sh).
# Set `me` (the script's name, for messages) before sourcing.
#
# A part that cannot run must fail and say why: a missing binary, directory
# or python module is an error, never a silent skip.

: "${me:=$(basename "$0" .sh)}"
# A loop over an empty directory runs zero times (not once, on the pattern).
shopt -s nullglob

# fail_setup MESSAGE...: what the script needs is not there; exit 1.
fail_setup() {
  echo "$me: error: $*" >&2
  exit 1
}

# need_exec FILE...: executables the script runs.
need_exec() {
  local f
  for f; do [[ -x $f ]] || fail_setup "missing executable $f"; done
}

# pick_cases FILE NAME...: the lines of test/gpu/cases/*.txt whose case is
# NAME, in this order, into FILE (cases stay defined once, in those files).
pick_cases() {
  local file=$1 n line
  shift
  : >"$file"
  for n; do
    line=$(grep -h -E "^$n[[:space:]]*\|" "$(dirname "${BASH_SOURCE[0]}")"/cases/*.txt) ||
      fail_setup "case $n is in no test/gpu/cases file"
    echo "$line" >>"$file"
  done
}

# start_check NAME: a check's log directory ${OUT:-/tmp}/NAME, emptied, as
# `out`; `status` 0 until `fail MESSAGE...` (prints "FAIL: MESSAGE"); `t0`
# the start; then the GPU's name and memory.
start_check() {
  out=${OUT:-/tmp}/$1
  rm -rf "$out"
  mkdir -p "$out"
  status=0 t0=$SECONDS
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
}
fail() {
  echo "FAIL: $*"
  status=1
}

# start_timed NAME: a benchmark's log directory ${OUT:-/tmp}/NAME, emptied,
# as `log`; `say MESSAGE...` prints MESSAGE after the seconds since this
# call; `status` 0; then the GPU's name and SM clocks (current, max).
start_timed() {
  log=${OUT:-/tmp}/$1
  rm -rf "$log" && mkdir -p "$log"
  start=$SECONDS
  status=0
  nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader 2>/dev/null
}
say() { echo "[$((SECONDS - start)) s] $*"; }

# use_pip_cublas: where the loader finds no libcublas, the one of python3's
# nvidia-cublas package (when it has one), through EFFC_CUBLAS and
# LD_LIBRARY_PATH.
use_pip_cublas() {
  ldconfig -p 2>/dev/null | grep -q 'libcublas\.so' && return 0
  local lib f
  lib=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null)
  for f in "$lib"/libcublas.so.*; do
    [ -f "$f" ] && { export EFFC_CUBLAS=$f LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"; break; }
  done
  return 0
}

# need_cmd NAME...: programs on PATH.
need_cmd() {
  local c
  for c; do command -v "$c" >/dev/null || fail_setup "'$c' is not on PATH"; done
}

# need_dir DIR WHAT: a directory the script reads.
need_dir() {
  [[ -d $1 ]] || fail_setup "$2 not found: $1"
}

# need_python MODULE...: python3 modules (found without importing them).
need_python() {
  need_cmd python3
  local missing
  missing=$(python3 -c 'import importlib.util, sys
print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))' "$@") ||
    fail_setup "python3 does not run"
  [[ -z $missing ]] || fail_setup "python3 cannot import: $missing"
}

# A bounded pool of background jobs: `pool_run CMD...` starts CMD once fewer
# than $pool_max run; `pool_wait` waits for all of them. Jobs report their
# results through files, so their exit statuses are not needed here.
pool_max=${EFFC_JOBS:-$(($(nproc) > 1 ? $(nproc) / 2 : 1))}
pool_run() {
  while (($(jobs -rp | wc -l) >= pool_max)); do
    wait -n || : # a job's status travels through its result file
  done
  "$@" &
}
pool_wait() {
  wait
}

# report_rows LOG WHAT COUNT: for every row file LOG/rows/NAME with a " FAIL",
# "--- NAME:" and the tail of LOG/NAME.log; then all rows and "WHAT: COUNT
# models, N failure(s)". Returns 0 when no row failed (a check's exit status).
report_rows() {
  local log=$1 what=$2 count=$3 fails=0 row
  for row in "$log"/rows/*; do
    if grep -q ' FAIL' "$row"; then
      fails=$((fails + 1))
      echo "--- $(basename "$row"):"; tail -20 "$log/$(basename "$row").log"
    fi
  done
  echo
  cat "$log"/rows/*
  echo "$what: $count models, $fails failure(s)"
  [ "$fails" -eq 0 ]
}

# bf16_tolerance TORCH_ERR: the bf16 tolerance of a model benchmark,
# max(2e-2, 2 x torch's own bf16 error); "nan" when TORCH_ERR is missing.
bf16_tolerance() {
  python3 -c "import sys
e = float(sys.argv[1] or 'nan')
print(f'{max(2e-2, 2 * e):.3g}' if e == e else 'nan')" "$1"
}

# model_bench RUN_LOG BIN_DIR ARGS...: runs effc-model-bench ARGS (killed
# after ${EFFC_MODEL_BENCH_TIMEOUT:-300}s: a hang must not take the rest of a
# table with it) into RUN_LOG and sets bench_ms (device median), bench_e2e_ms,
# bench_dev_ms (end to end with device inputs/outputs, no host copies),
# bench_err (max_rel_err) and bench_check (PASS or FAIL(why)).
model_bench() {
  local run=$1 bin=$2 rc=0
  shift 2
  timeout "${EFFC_MODEL_BENCH_TIMEOUT:-300}" "$bin/effc-model-bench" "$@" >"$run" 2>&1 || rc=$?
  bench_ms=$(sed -n 's/.*device median \([0-9.]*\).*/\1/p' "$run"); bench_ms=${bench_ms:-?}
  bench_e2e_ms=$(sed -n 's/.*runs, median \([0-9.]*\).*/\1/p' "$run" | head -1); bench_e2e_ms=${bench_e2e_ms:-?}
  bench_dev_ms=$(sed -n 's/.*device-io median \([0-9.]*\).*/\1/p' "$run" | head -1); bench_dev_ms=${bench_dev_ms:-?}
  bench_err=$(grep -o 'max_rel_err=[^ ]*' "$run" | head -1 | cut -d= -f2); bench_err=${bench_err:--}
  if ((rc == 0)) && grep -q '^effc-model-bench: PASS' "$run"; then
    bench_check=PASS
  elif ((rc == 124)); then
    bench_check="FAIL(timed out)"
  elif grep -q 'bit-identical to the first run.s: NO' "$run"; then
    bench_check="FAIL(replays differ)"
  elif grep -q '^output .* FAIL' "$run"; then
    bench_check="FAIL(numerics)"
  else
    bench_check="FAIL($(tail -1 "$run" | cut -c1-60))"
  fi
}

# effc-gemm-bench runs (test/gpu/hopper_gemm.sh, hopper_gemm_variants.sh;
# the script sets `bench` to the binary). Their RESULT rows are read by
# test/gpu/gemm_bench_results.py.

# gemm_bench_one OUTFILE ARGS...: $bench ARGS, killed after
# ${EFFC_HOPPER_TIMEOUT:-120} s, into OUTFILE; the exit status into
# OUTFILE.rc (a FAIL row is the bench's exit 1, a crash or a timeout anything
# else without RESULT lines).
gemm_bench_one() {
  local out=$1 rc=0
  shift
  timeout "${EFFC_HOPPER_TIMEOUT:-120}" "$bench" "$@" >"$out" 2>&1 || rc=$?
  echo "$rc" >"$out.rc"
}

# gemm_bench_checks LOG ARGS...: the problems `$bench ARGS --check --list`
# names (into LOG/check-list.txt), each checked in its own process (ARGS
# --check --only=I into LOG/check/I.txt), pool_max at a time; `count` the
# number of problems.
gemm_bench_checks() {
  local log=$1 i
  shift
  mkdir -p "$log/check"
  "$bench" "$@" --check --list >"$log/check-list.txt" ||
    fail_setup "effc-gemm-bench $* --check --list failed"
  count=$(grep -c '^PROBLEM ' "$log/check-list.txt")
  ((count > 0)) || fail_setup "no wgmma check problems listed"
  for ((i = 0; i < count; ++i)); do
    pool_run gemm_bench_one "$log/check/$i.txt" "$@" --check --only="$i" --jobs=2
  done
  pool_wait
}

# gemm_cublas_peer LOG SHAPE...: cuBLAS (bench/gemm/cublas_peer.py, torch)
# times the bf16 SHAPEs (MxNxK) into LOG/peer.txt; `peer_ok` 1, or 0 where
# it failed (the tail of LOG/peer.err printed) or python3 has no torch
# (LOG/peer.txt empty).
gemm_cublas_peer() {
  local log=$1 list
  shift
  peer_ok=1
  if python3 -c 'import torch' 2>/dev/null; then
    list=$(IFS=,; echo "$*")
    python3 "$(dirname "${BASH_SOURCE[0]}")/../../bench/gemm/cublas_peer.py" --dtypes=bf16 \
      --problems="$list" >"$log/peer.txt" 2>"$log/peer.err" || { peer_ok=0; tail -3 "$log/peer.err"; }
  else
    peer_ok=0
    echo "$me: error: python3 cannot import torch: no cuBLAS column" >&2
    : >"$log/peer.txt"
  fi
}
