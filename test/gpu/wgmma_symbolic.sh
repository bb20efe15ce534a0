#!/usr/bin/env bash
# The TMA wgmma GEMM over runtime rows (issue 16: M = batch * seq read from
# effc_dims, maps/tile/split planned at the bound) on an H100/H200, one
# command (about 2-3 min):
#   test/gpu/wgmma_symbolic.sh BIN_DIR SHARED_DIR
#     BIN_DIR     effc, effc-run, effc-gemm-bench (static builds travel)
#     SHARED_DIR  decoders/{llama-withpast,llama,gpt2} (a carried subset of ../shared)
# 1. effc-gemm-bench --wgmma --perf --rows=R, one process per (planned M x N x
#    K, run rows R): the kernel planned at M and run for R rows (grids from
#    their runtime rules), checked against the fp32 reference on its R rows,
#    the rows past R must stay NaN-poisoned (nothing written there); split-K
#    along y (128x1024x4096, 256x512x2048), several row tiles, R = 1, ragged
#    fp16. Timed next to the cp.async wgmma kernel at the same planned M and
#    R (what symbolic artifacts ran before: every planned row) and the static
#    TMA kernel at M = R (the best a fixed shape gets).
# 2. test/gpu/cases/wgmma-symbolic.txt staged here for sm_90a (staged while
#    part 1 runs) and run on the cuda backend: llama-withpast bf16 at seq
#    1..32 and 1..96 (several row tiles) against the host backend or the
#    model's data, one session across seq values, KV-cache generation of
#    llama-withpast and gpt2 --kv-cache (teacher-forced, bf16 tolerance).
# Logs: ${OUT:-/tmp}/wgmma-symbolic. Exit 1 on any failure.
set -uo pipefail
me=wgmma_symbolic
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: test/gpu/wgmma_symbolic.sh BIN_DIR SHARED_DIR"
bin=$(cd "$1" && pwd) shared=$(cd "$2" && pwd)
need_exec "$bin/effc" "$bin/effc-run" "$bin/effc-gemm-bench"
need_dir "$shared/decoders/llama-withpast" "decoders/llama-withpast"
need_python numpy
need_cmd timeout
log=${OUT:-/tmp}/wgmma-symbolic
stage=/tmp/wgmma-symbolic-stage
rm -rf "$log" && mkdir -p "$log/bench"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader 2>/dev/null
python3 "$here/prebuilt.py" stage "$stage" "$here/cases/wgmma-symbolic.txt" --arch sm_90a \
  --bin "$bin" --shared "$shared" >"$log/stage.log" 2>&1 &
stager=$!

# (planned M x N x K)@R [dtype]
problems=(4096x2048x2048@1 4096x2048x2048@100 4096x2048x2048@512 4096x2048x2048@4000
  4096x8192x2048@512 512x4096x4096@16 512x4096x4096@300 128x1024x4096@1 128x1024x4096@100
  256x512x2048@200 1000x1000x520@777:fp16)
limit=${EFFC_SYM_TIMEOUT:-60}
run_one() { # OUTFILE ARGS...
  local out=$1 rc=0
  shift
  timeout "$limit" "$bin/effc-gemm-bench" "$@" >"$out" 2>&1 || rc=$?
  echo "$rc" >"$out.rc"
}
echo "=== 1. effc-gemm-bench: runtime rows (${#problems[@]} problems x tma, cp.async, static)"
t0=$SECONDS
for p in "${problems[@]}"; do
  shape=${p%%@*} rest=${p#*@}
  rows=${rest%%:*} dt=bf16
  [[ $rest == *:* ]] && dt=${rest#*:}
  n=${shape#*x}
  run_one "$log/bench/tma-$p.txt" --wgmma --perf --dtypes="$dt" --problems="$shape" --rows="$rows" --jobs=4
  run_one "$log/bench/cpasync-$p.txt" --wgmma --cpasync --perf --dtypes="$dt" --problems="$shape" \
    --rows="$rows" --jobs=4
  run_one "$log/bench/static-$p.txt" --wgmma --perf --dtypes="$dt" --problems="${rows}x$n" --jobs=4
done
echo "bench: $((SECONDS - t0)) s"

status=0
python3 - "$log/bench" "${problems[@]}" <<'PY' || status=1
import os, sys
d, problems = sys.argv[1], sys.argv[2:]

def result(name):
    path = os.path.join(d, name + ".txt")
    text = open(path).read() if os.path.exists(path) else ""
    rc = open(path + ".rc").read().strip() if os.path.exists(path + ".rc") else "?"
    rows = [dict(kv.split("=", 1) for kv in l.split()[1:] if "=" in kv)
            for l in text.splitlines() if l.startswith("RESULT ")]
    notes = [l for l in text.splitlines() if "past the run's M" in l]
    if rows:
        return rows[0], "; ".join(notes)
    last = [l for l in text.splitlines() if l.strip()]
    return None, f"exit {rc}: {last[-1][:60] if last else 'no output'}"

ok = True
print(f"\n{'planned@rows':26s} {'tma kernel':22s} {'tma':>7s} {'cp.async':>8s} {'static':>7s}  TFLOP/s at R rows; check")
for p in problems:
    cells, status = [], []
    tile = "-"
    for kind in ("tma", "cpasync", "static"):
        r, why = result(f"{kind}-{p}")
        if r is None or r["status"] != "PASS":
            ok = False
            status.append(f"{kind} FAIL " + (why if r is None else f"err={r['max_rel_err']} {why}"))
            cells.append(0.0)
        else:
            cells.append(float(r["tflops"]))
        if kind == "tma" and r:
            tile = r["tile"]
    fmt = lambda v: f"{v:7.1f}" if v else "      -"
    print(f"{p:26s} {tile:22s} {fmt(cells[0])} {fmt(cells[1]):>8s} {fmt(cells[2])}  "
          f"{'; '.join(status) or 'PASS'}")
print(f"runtime-rows GEMMs: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY

echo "=== 2. symbolic-seq models (sm_90a, TMA over runtime rows)"
if ! wait $stager; then
  echo "staging failed:" && tail -20 "$log/stage.log"
  exit 1
fi
python3 "$stage/prebuilt.py" run "$stage" >"$log/cases.log" 2>&1 || status=1
sed -n '/^=== prebuilt checks/,$p' "$log/cases.log"
echo "wgmma_symbolic: $([[ $status == 0 ]] && echo PASS || echo FAIL) (logs: $log)"
exit $status
