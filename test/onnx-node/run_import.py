#!/usr/bin/env python3
"""Imports every ONNX backend node test case (Debian libonnx-testdata) whose
ops effc supports and reports, per op, how many cases import and verify.

    python3 test/onnx-node/run_import.py [--effc build/bin/effc]
        [--emit mlir|mlir-import] [--data /usr/share/libonnx-testdata/data/node]
        [--filter SUBSTRING] [--verbose] [-j N]

A case is relevant when every node's op maps onto an eff op (the ONNX names
of the generated build table, from dialects/eff ODS, plus the ops the
importer converts itself: Constant, Dropout, Attention). Cases whose ops are not all supported are
counted as skipped. Exit status 0 always (this is a report, not a gate) unless
--fail-on-error is given.
"""
import argparse
import collections
import concurrent.futures
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# ONNX ops the importer converts into other eff ops.
CONVERTED = {"Constant": None, "Dropout": "identity", "Attention": "attention"}


def eff_ops(build):
    """ONNX op -> eff op, from the importer's build table that effc-tblgen
    generates from the dialect's ODS (the importer reads the same table)."""
    path = os.path.join(build, "dialects/eff/EffOpBuildTable.inc")
    table = {}
    for m in re.finditer(r'EFF_BUILD_OP\(\w+, "eff\.(\w+)", "(\w*)"', open(path).read()):
        if m.group(2):
            table[m.group(2)] = m.group(1)
    return table


def supported(op, domain, ops):
    if domain not in ("", "ai.onnx"):
        return False
    if op in CONVERTED:
        return CONVERTED[op] is None or CONVERTED[op] in ops.values()
    return op in ops


def case_ops(model_path):
    import onnx  # only the graph's node list is needed
    m = onnx.load(model_path, load_external_data=False)
    return [(n.op_type, n.domain) for n in m.graph.node]


def run_case(effc, emit, case_dir):
    model = os.path.join(case_dir, "model.onnx")
    try:
        p = subprocess.run([effc, model, "--emit=" + emit], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=120, text=True, errors="replace")
    except subprocess.TimeoutExpired:
        return "timeout", "timed out after 120 s"
    if p.returncode == 0:
        return "ok", ""
    if p.returncode < 0 or p.returncode > 128:
        first = next((l for l in p.stderr.splitlines() if l.strip()), "")
        return "crash", "CRASH (signal %d) %s" % (-p.returncode if p.returncode < 0 else p.returncode - 128, first)
    first = next((l for l in p.stderr.splitlines() if "error" in l), p.stderr.strip()[:200])
    first = first.replace(model, "model.onnx")
    return "fail", first


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--effc", default=os.path.join(ROOT, "build/bin/effc"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build dir holding dialects/eff/EffOpBuildTable.inc")
    ap.add_argument("--emit", default="mlir", choices=["mlir", "mlir-import"])
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data/node")
    ap.add_argument("--filter", default="")
    ap.add_argument("--verbose", action="store_true", help="print every failing case")
    ap.add_argument("--fail-on-error", action="store_true")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    ops = eff_ops(args.build)
    cases, skipped = [], collections.Counter()
    for case_dir in sorted(glob.glob(os.path.join(args.data, "test_*"))):
        if args.filter not in os.path.basename(case_dir):
            continue
        model = os.path.join(case_dir, "model.onnx")
        if not os.path.exists(model):
            continue
        nodes = case_ops(model)
        if not nodes:
            continue
        unsupported = [op for op, dom in nodes if not supported(op, dom, ops)]
        main_op = next((op for op, _ in nodes if op != "Constant"), nodes[0][0])
        if len(nodes) > 1:
            main_op = os.path.basename(case_dir)[5:].split("_expanded")[0] if "_expanded" in case_dir else main_op
            main_op = ("%s (multi-node)" % main_op if "_expanded" not in case_dir
                       else "expanded: " + main_op.split("_")[0])
        if unsupported:
            skipped[sorted(set(unsupported))[0]] += 1
            continue
        cases.append((main_op, case_dir))

    results = collections.defaultdict(lambda: collections.Counter())
    first_error = {}
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        futures = {pool.submit(run_case, args.effc, args.emit, d): (op, d) for op, d in cases}
        for f in concurrent.futures.as_completed(futures):
            op, d = futures[f]
            status, message = f.result()
            results[op][status] += 1
            if status != "ok":
                failures.append((op, os.path.basename(d), message))
                first_error.setdefault(op, "%s: %s" % (os.path.basename(d), message))

    total = collections.Counter()
    print("%-48s %5s %5s  %s" % ("op", "ok", "fail", "first error"))
    for op in sorted(results):
        c = results[op]
        total.update(c)
        bad = c["fail"] + c["crash"] + c["timeout"]
        print("%-48s %5d %5d  %s" % (op[:48], c["ok"], bad, first_error.get(op, "")[:160]))
    n = sum(total.values())
    print()
    print("relevant cases: %d, import+verify ok: %d, fail: %d, crash: %d, timeout: %d" %
          (n, total["ok"], total["fail"], total["crash"], total["timeout"]))
    print("skipped (unsupported op): %d cases; most common: %s" %
          (sum(skipped.values()), ", ".join("%s %d" % kv for kv in skipped.most_common(12))))
    if args.verbose:
        for op, case, message in sorted(failures):
            print("FAIL %s: %s" % (case, message))
    return 1 if args.fail_on_error and (total["fail"] or total["crash"] or total["timeout"]) else 0


if __name__ == "__main__":
    sys.exit(main())
