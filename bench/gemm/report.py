#!/usr/bin/env python3
"""Joins effc-gemm-bench RESULT lines with cublas_peer.py PEER lines into one table.

usage: report.py CHECK.txt PERF.txt PEER.txt

Columns: shape (MxNxK), dtype, the tile chooseTile() picked, effc and cuBLAS
TFLOP/s, effc/cuBLAS, max_rel_err (max|C-ref| / max|ref|), the arithmetic
floor 2MNK / peak (989 TFLOP/s dense bf16/fp16, 66.9 fp32 FFMA on H100 SXM) and
effc's time; with --sweep results, the fastest tile and its TFLOP/s.
"""
import sys

PEAK = {"bf16": 989e12, "fp16": 989e12, "fp32": 66.9e12}  # fp32: effc ships FFMA, not TF32


def parse(path, tag):
    rows = []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return rows
    for line in lines:
        if not line.startswith(tag + " "):
            continue
        head, _, what = line.partition(" what=")
        kv = dict(tok.split("=", 1) for tok in head.split()[1:] if "=" in tok)
        if what:
            kv["what"] = what
        rows.append(kv)
    return rows


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    checks, perf, peer = parse(sys.argv[1], "RESULT"), parse(sys.argv[2], "RESULT"), parse(sys.argv[3], "PEER")

    fails = [r for r in checks if r["status"] != "PASS"]
    worst = max((float(r["max_rel_err"]) / float(r["tol"]) for r in checks), default=0.0)
    print(f"correctness: {len(checks) - len(fails)}/{len(checks)} check problems pass "
          f"(worst err/tol = {worst:.2f})")
    for r in fails:
        print(f"  FAIL {r['shape']} {r['dtype']} tile={r['tile']} max_rel_err={r['max_rel_err']} tol={r['tol']}"
              f"  [{r.get('what', '')}]")

    cublas = {(r["shape"], r["dtype"]): float(r["tflops"]) for r in peer}
    by_problem = {}
    for r in perf:
        by_problem.setdefault((r["shape"], r["dtype"]), []).append(r)

    hdr = (f"{'shape':<18} {'dtype':<5} {'tile (chosen)':<22} {'effc':>7} {'cuBLAS':>7} {'ratio':>6} "
           f"{'max_rel_err':>11} {'floor_us':>9} {'effc_us':>9}  {'best tile (sweep)':<22} {'best':>7}")
    print()
    print("TFLOP/s; ratio = effc / cuBLAS; floor = 2MNK / peak")
    print(hdr)
    print("-" * len(hdr))
    for (shape, dtype), rows in by_problem.items():
        chosen = next((r for r in rows if r["chosen"] == "1"), rows[0])
        best = max(rows, key=lambda r: float(r["tflops"]))
        m, n, k = (int(x) for x in shape.split("@")[-1].split("x"))
        floor_us = 2.0 * m * n * k / PEAK.get(dtype, 989e12) * 1e6
        eff = float(chosen["tflops"])
        peer_tf = cublas.get((shape, dtype))
        ratio = f"{eff / peer_tf:6.2f}" if peer_tf else "     -"
        peer_s = f"{peer_tf:7.1f}" if peer_tf else "      -"
        err = chosen["max_rel_err"] + ("" if chosen["status"] == "PASS" else "!")
        best_s = f"{best['tile']:<22} {float(best['tflops']):7.1f}" if len(rows) > 1 else ""
        print(f"{shape:<18} {dtype:<5} {chosen['tile']:<22} {eff:7.1f} {peer_s} {ratio} {err:>11} "
              f"{floor_us:9.1f} {float(chosen['ms']) * 1e3:9.1f}  {best_s}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
