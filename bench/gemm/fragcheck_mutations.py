#!/usr/bin/env python3
"""Shows that fragcheck.py fails on a wrong fragment layout.

usage: fragcheck_mutations.py KERNEL.cu...   (the sources fragcheck.py passes)

Each mutation breaks one lane map, swizzle or register assignment of the
embedded tcg_gemm template in copies of two kernels that take that path;
fragcheck.py must report fragment mismatches for every one. Exit status 1
when a mutation goes unnoticed (or does not apply)."""
import io
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fragcheck  # noqa: E402

# (what it breaks, kernels it applies to, text, replacement)
MUTATIONS = [
    ("A ldmatrix lane -> row map", lambda c: not c["TRANS_A"],
     "rowOff = (wm * S::WARP_M + lr + ((lane >> 3) & 1) * 8)", "rowOff = (wm * S::WARP_M + lr + ((lane >> 4) & 1) * 8)"),
    ("B ldmatrix.trans register order", lambda c: c["A_TYPE"] != "TCG_F32" and not c["TRANS_B"],
     "ldsm_x4_t(bfr[2 * nj][0], bfr[2 * nj][1], bfr[2 * nj + 1][0],",
     "ldsm_x4_t(bfr[2 * nj][0], bfr[2 * nj + 1][0], bfr[2 * nj][1],"),
    ("cp.async chunk swizzle (write side only)", lambda c: True,
     "return tile + r * ROW_BYTES + ((c ^ swizzle(r)) << 4);", "return tile + r * ROW_BYTES + (c << 4);"),
    ("tf32 A word-load lane map", lambda c: c["A_TYPE"] == "TCG_F32" and c["TRANS_A"],
     "((lane >> 2) & 3) * 4;\n    }\n  }\n  /// ldmatrix", "((lane >> 2) & 1) * 4;\n    }\n  }\n  /// ldmatrix"),
]


def config(src):
    text = fragcheck.CONFIG.search(src).group(0)
    flags = dict(re.findall(r"(\w+) = (\w+)", text))
    return {k: (v == "true" if v in ("true", "false") else v) for k, v in flags.items()}


def main(paths):
    sources = [(p, open(p).read()) for p in paths]
    missed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, applies, old, new in MUTATIONS:
            picked = [(p, s) for p, s in sources if applies(config(s))][:2]
            mutated = []
            for p, s in picked:
                if old not in s:
                    print(f"mutation '{what}': text not found in {p}")
                    missed += 1
                    continue
                out = os.path.join(tmp, os.path.basename(p))
                with open(out, "w") as f:
                    f.write(s.replace(old, new))
                mutated.append(out)
            if not mutated:
                print(f"mutation '{what}': no kernel takes that path")
                missed += 1
                continue
            report, stdout = io.StringIO(), sys.stdout
            sys.stdout = report
            try:
                fragcheck.main(mutated)
            finally:
                sys.stdout = stdout
            # Detected = every mutated kernel checked and found wrong (not a parse error).
            wrong = re.findall(r": [1-9]\d* fragment mismatches", report.getvalue())
            ok = len(wrong) == len(mutated) and "ERROR" not in report.getvalue()
            print(f"mutation '{what}' on {len(mutated)} kernels: {'detected' if ok else 'NOT DETECTED'}")
            if not ok:
                print(report.getvalue())
            missed += not ok
            for m in mutated:
                os.remove(m)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
