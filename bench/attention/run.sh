#!/usr/bin/env bash
# Runs effc-attention-bench (checks + forward/decode timings) and the torch
# SDPA peers (flash, cuDNN) on the same problems, then prints ONE table:
# shape, effc rate, flash, cuDNN, effc / best peer, max errors.
#
#   bench/attention/run.sh [extra effc-attention-bench args]
#
# The binary: $EFFC_ATTENTION_BENCH, else build-attn/bin/effc-attention-bench,
# else build/bin/...; when none exists it is built with cmake (needs
# protobuf: on the GPU machine, build here and carry the binary, e.g.
# carry=["build-attn/bin/effc-attention-bench"]). Logs go to $OUT (or
# /tmp/effc-attention): effc.log, sdpa_peer.jsonl, sdpa_peer.err, table.txt.
# Exit 1 when effc-attention-bench fails (a check or a timed problem out of
# tolerance: each timed problem is checked too) or prints no RESULT, or the
# torch peers fail.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOG=${OUT:-/tmp/effc-attention}
mkdir -p "$LOG"

BIN=${EFFC_ATTENTION_BENCH:-}
for cand in "$ROOT/build-attn/bin/effc-attention-bench" "$ROOT/build/bin/effc-attention-bench"; do
  [ -z "$BIN" ] && [ -x "$cand" ] && BIN=$cand
done
if [ -n "$BIN" ] && [ ! -x "$BIN" ]; then
  echo "bench_attention: EFFC_ATTENTION_BENCH=$BIN is not an executable"; exit 1
fi
if [ -z "$BIN" ]; then
  echo "== building effc-attention-bench"
  if ! { cmake -G Ninja -S "$ROOT" -B "$ROOT/build-attn" -DEFFC_RUNTIME_ONLY=ON -DEFFC_BUILD_TESTS=OFF \
           -DCMAKE_BUILD_TYPE=Release && ninja -C "$ROOT/build-attn" effc-attention-bench; } > "$LOG/build.log" 2>&1; then
    tail -20 "$LOG/build.log"; echo "build failed (protobuf missing? build elsewhere and carry the binary)"; exit 1
  fi
  BIN=$ROOT/build-attn/bin/effc-attention-bench
fi

echo "== effc: $BIN $*"
start=$(date +%s)
"$BIN" "$@" > "$LOG/effc.log" 2>&1
effc_rc=$?
echo "   exit $effc_rc in $(( $(date +%s) - start )) s; $(grep -c 'status=PASS' "$LOG/effc.log") PASS," \
     "$(grep -c 'status=FAIL' "$LOG/effc.log") FAIL, $(grep -c 'status=ERROR' "$LOG/effc.log") ERROR"
grep -E '^(device|compiled)' "$LOG/effc.log"
grep -E 'status=(FAIL|ERROR)' "$LOG/effc.log" | head -20
grep -E '^  error:' "$LOG/effc.log" | head -5
if ! grep -q '^RESULT' "$LOG/effc.log"; then tail -30 "$LOG/effc.log"; fi

echo "== torch SDPA peers"
start=$(date +%s)
python3 "$ROOT/bench/attention/sdpa_peer.py" > "$LOG/sdpa_peer.jsonl" 2> "$LOG/sdpa_peer.err"
peer_rc=$?
echo "   exit $peer_rc in $(( $(date +%s) - start )) s"
grep -v '^#' "$LOG/sdpa_peer.err" | tail -5
grep '^#' "$LOG/sdpa_peer.err" | head -8

python3 - "$LOG/effc.log" "$LOG/sdpa_peer.jsonl" <<'EOF' | tee "$LOG/table.txt"
import json, re, sys
effc = {}
for line in open(sys.argv[1]):
    if not line.startswith("RESULT "):
        continue
    kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
    effc[kv["label"].strip('"')] = kv
peers = {}
for line in open(sys.argv[2]):
    line = line.strip()
    if line and not line.startswith("#"):
        r = json.loads(line)
        peers[r["label"]] = r

def f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)

checks = [k for k in effc if k.startswith("chk")]
bad = [k for k in checks if effc[k]["status"] != "PASS"]
print(f"\ncorrectness: {len(checks) - len(bad)}/{len(checks)} checks PASS" + (f"; not passing: {bad}" if bad else ""))
worst = max((float(effc[k]["rel_err"]) for k in checks if effc[k]["rel_err"] not in ("nan", "-1")), default=None)
if worst is not None:
    print(f"worst relative error (max|err|/max|ref|) over the checks: {worst:.3g}")
hdr = f"{'shape':<28} {'unit':>7} {'effc':>8} {'flash':>8} {'cuDNN':>8} {'effc/best':>9}  {'err effc':>9} {'err flash':>9} {'err cuDNN':>9}  {'regs/spill':>10}"
print(hdr)
print("-" * len(hdr))
for label, e in effc.items():
    if label.startswith("chk"):
        continue
    p = peers.get(label, {})
    rate = float(e["rate"]) if float(e["rate"]) > 0 else None
    best = max([x for x in (p.get("flash"), p.get("cudnn")) if x], default=None)
    ratio = rate / best if rate and best else None
    err = float(e["max_abs_err"])
    status = "" if e["status"] == "PASS" else "  " + e["status"]
    print(f"{label:<28} {e['unit']:>7} {f(rate):>8} {f(p.get('flash')):>8} {f(p.get('cudnn')):>8} "
          f"{f(ratio, '{:.2f}x'):>9}  {f(err if err >= 0 else None, '{:.2e}'):>9} "
          f"{f(p.get('flash_err'), '{:.2e}'):>9} {f(p.get('cudnn_err'), '{:.2e}'):>9}  "
          f"{e['regs'] + '/' + e['spill']:>10}{status}")
EOF
table_rc=${PIPESTATUS[0]}
results=$(grep -c '^RESULT' "$LOG/effc.log")
if [ "$effc_rc" != 0 ] || [ "$results" = 0 ] || [ "$peer_rc" != 0 ] || [ "$table_rc" != 0 ]; then
  echo "bench_attention: FAILED (effc-attention-bench exit $effc_rc, $results RESULT lines; torch peers exit" \
       "$peer_rc; table exit $table_rc)"
  exit 1
fi
echo "bench_attention: $results problems checked and timed, all PASS"
