#!/usr/bin/env python3
"""Runs ONNX backend node tests (Debian's libonnx-testdata) through effc.

For every case whose op effc supports: `effc model.onnx --host-only -o case.effc`, then
`effc-run case.effc --backend=host --test-data test_data_set_0`. Prints a
per-op table of cases that compile and match their expected outputs.

  run_node_tests.py --bin build/bin                     # report
  run_node_tests.py --bin build/bin --list passing.txt  # regression: every listed case must pass
  run_node_tests.py --bin build/bin --write-list passing.txt

Needs python's onnx (tools/setup.sh installs it).
"""
import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys
import tempfile

import google.protobuf.message
import onnx

# ONNX ops the eff dialect implements (issue: foundation), by ONNX name.
SUPPORTED_OPS = """
Add And Cast Clip Concat Constant ConstantOfShape Cos CumSum Div Equal Erf Exp
Expand Flatten Gather GatherElements GatherND Gelu Gemm Greater GreaterOrEqual
Identity IsNaN LayerNormalization Less LessOrEqual Log MatMul Max Min Mul Neg
Not Pow Range Reciprocal ReduceMax ReduceMean ReduceSum Relu Reshape Shape
Sigmoid Sin Slice Softmax Split Sqrt Squeeze Sub Tanh TopK Transpose Trilu
Unsqueeze Where Attention RMSNormalization RotaryEmbedding Abs Or Xor ScatterElements
ScatterND Tile
""".split()


def node_ops(model_path):
    """(domain, op_type) of every node of the main graph."""
    model = onnx.load(model_path, load_external_data=False)
    return [(node.domain, node.op_type) for node in model.graph.node]


def case_op(case_dir):
    """The op a node case tests, or None when it is not one op effc supports."""
    try:
        ops = node_ops(os.path.join(case_dir, "model.onnx"))
    except (OSError, google.protobuf.message.DecodeError):
        return None
    if len(ops) != 1:
        return None
    domain, op = ops[0]
    if domain not in ("", "ai.onnx") or op not in SUPPORTED_OPS:
        return None
    return op


def tensor_name(pb_path):
    tensor = onnx.TensorProto()
    with open(pb_path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor.name


def input_files(case_dir):
    data = os.path.join(case_dir, "test_data_set_0")
    files = sorted(f for f in os.listdir(data) if f.startswith("input_") and f.endswith(".pb"))
    return [os.path.join(data, f) for f in sorted(files, key=lambda f: int(f[6:-3]))]


def compile_and_run(case_dir, bin_dir, rtol, frozen, tmp):
    """effc (freezing the `frozen` input files to constants) + effc-run."""
    artifact = os.path.join(tmp, "case.effc")
    # The cases run on the host backend only; some keep shape-like operands
    # as run-time inputs, which no CUDA kernel takes (a compile error otherwise).
    cmd = [os.path.join(bin_dir, "effc"), os.path.join(case_dir, "model.onnx"), "--host-only",
           "-o", artifact]
    for pb in frozen:
        cmd += ["--const-input", "%s=%s" % (tensor_name(pb), pb)]
    compile_ = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if compile_.returncode != 0:
        return False, "effc: " + (compile_.stderr.strip().splitlines() or ["?"])[0]
    run = subprocess.run(
        [os.path.join(bin_dir, "effc-run"), artifact, "--backend=host", "--rtol", str(rtol),
         "--test-data", os.path.join(case_dir, "test_data_set_0")],
        capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        lines = [l for l in (run.stdout + run.stderr).splitlines() if "FAIL" in l or "error" in l]
        return False, "effc-run: " + (lines[0] if lines else "exit %d" % run.returncode)
    return True, ""


def run_case(case_dir, bin_dir, rtol):
    """Returns (passed, first line of the failure). Node tests feed shape-like
    operands (Reshape's shape, Slice's starts, ...) as graph inputs; effc
    compiles static shapes, so when the plain compile leaves a dynamic shape
    the case is retried with those inputs frozen to their test values
    (`effc --const-input`), first all but the data input, then all."""
    inputs = input_files(case_dir)
    attempts = [[], inputs[1:], inputs]
    with tempfile.TemporaryDirectory() as tmp:
        result = (False, "no attempt")
        for frozen in attempts:
            if frozen is not attempts[0] and not frozen:
                continue
            result = compile_and_run(case_dir, bin_dir, rtol, frozen, tmp)
            if result[0] or "dynamic shape" not in result[1]:
                return result
        return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="directory with effc and effc-run")
    parser.add_argument("--data", default="/usr/share/libonnx-testdata/data/node")
    parser.add_argument("--list", help="exactly these cases; exit 1 unless every one is found, "
                        "tests an op effc supports, compiles and passes")
    parser.add_argument("--write-list", help="write the passing cases here")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failure")
    args = parser.parse_args()

    if not os.path.isdir(args.data):
        print("run_node_tests: no node tests at %s (install libonnx-testdata)" % args.data, file=sys.stderr)
        return 1
    cases = sorted(os.listdir(args.data))
    if args.list:
        # The list is pinned: a listed case that is gone, duplicated or no
        # longer one supported op fails the run instead of shrinking it.
        with open(args.list) as f:
            wanted = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        problems = []
        duplicates = sorted({c for c in wanted if wanted.count(c) > 1})
        if duplicates:
            problems.append("listed more than once: %s" % " ".join(duplicates))
        missing = [c for c in wanted if c not in cases]
        if missing:
            problems.append("listed cases not found in %s: %s" % (args.data, " ".join(missing)))
        unsupported = [c for c in wanted if c in cases and not case_op(os.path.join(args.data, c))]
        if unsupported:
            problems.append("listed cases that are not one op effc supports (SUPPORTED_OPS): %s"
                            % " ".join(unsupported))
        if problems:
            for p in problems:
                print("run_node_tests: %s: %s" % (args.list, p), file=sys.stderr)
            return 1
        cases = wanted
    relevant = [(c, case_op(os.path.join(args.data, c))) for c in cases]
    relevant = [(c, op) for c, op in relevant if op]

    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_case, os.path.join(args.data, c), args.bin, args.rtol): c
                   for c, _ in relevant}
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()

    per_op = collections.defaultdict(lambda: [0, 0])
    for case, op in relevant:
        per_op[op][1] += 1
        if results[case][0]:
            per_op[op][0] += 1
    print("%-20s %6s %6s" % ("op", "pass", "cases"))
    for op in sorted(per_op):
        passed, total = per_op[op]
        print("%-20s %6d %6d" % (op, passed, total))
    failures = [(c, results[c][1]) for c, _ in relevant if not results[c][0]]
    if args.verbose or args.list:
        for case, why in failures:
            print("FAIL %s: %s" % (case, why))
    passed = len(relevant) - len(failures)
    if args.write_list:
        with open(args.write_list, "w") as f:
            f.write("# ONNX node test cases (libonnx-testdata) that effc compiles and runs on the host\n"
                    "# backend within rtol; regenerate with run_node_tests.py --write-list.\n")
            for case, _ in relevant:
                if results[case][0]:
                    f.write(case + "\n")
    print("node-tests: %d passed, %d failed" % (passed, len(failures)))
    if args.list and (failures or passed != len(cases)):
        print("run_node_tests: %d of the %d cases in %s passed" % (passed, len(cases), args.list),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
