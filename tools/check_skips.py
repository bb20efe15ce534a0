#!/usr/bin/env python3
"""Fails when ctest skipped a test for a reason other than a GPU or an opt-in.

  check_skips.py JUNIT_XML      (written by ctest --output-junit)

ctest reports a skipped GoogleTest case (GTEST_SKIP) as "Skipped" and still
passes the run, so a missing library or data file could hide as a skip.
tools/test.sh runs this after ctest: a skipped, disabled or not-run test must
have the EFFC_SKIP_GPU_OR_OPT_IN marker in its output (test/unit/runtime/
TestUtil.h), else it is listed with its output's skip reason and this exits 1.
"""
import sys
import xml.etree.ElementTree as ET

MARKER = "GPU/opt-in skip: "


def skip_reason(output):
    """The line after GoogleTest's 'file:line: Skipped', else the output's last line."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.endswith(": Skipped") and i + 1 < len(lines):
            return lines[i + 1]
    return lines[-1] if lines else "(no output)"


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except (OSError, ET.ParseError) as e:
        print("check_skips: cannot read %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    allowed, refused = [], []
    for case in root.iter("testcase"):
        if case.get("status") == "run" or case.get("status") == "fail":
            continue
        output = case.findtext("system-out") or ""
        if MARKER in output:
            allowed.append(case.get("name"))
        else:
            refused.append((case.get("name"), case.get("status"), skip_reason(output)))
    for name, status, why in refused:
        print("check_skips: %s was not run (%s): %s" % (name, status, why), file=sys.stderr)
    if refused:
        print("check_skips: only tests that need a GPU or an opt-in may be skipped "
              "(EFFC_SKIP_GPU_OR_OPT_IN); a missing prerequisite is a failure", file=sys.stderr)
        return 1
    print("check_skips: %d skipped tests, all GPU/opt-in ones" % len(allowed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
