#!/usr/bin/env python3
"""Checks that the shared data holds exactly the entries the e2e tests run.

  check_shared_data.py SHARED_DIR LIST

LIST (test/e2e/shared-data.txt) names models/<name>, quant/<name> and moe/<name>
(model.onnx and its reference in test_data_set_0; moe/ also test_data_set_1) and lora/<name> (also adapter/ and
lora_test_data_set_0). Fails, naming each, on a missing entry or file and on
an entry of SHARED_DIR/models or SHARED_DIR/lora that LIST does not name (a
new or renamed model would otherwise go untested).
"""
import os
import sys

REQUIRED = {
    "models": ["model.onnx", "test_data_set_0"],
    "lora": ["model.onnx", "test_data_set_0", "adapter", "lora_test_data_set_0"],
    "quant": ["model.onnx", "test_data_set_0"],
    "moe": ["model.onnx", "test_data_set_0", "test_data_set_1"],
}


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    shared_dir, list_path = sys.argv[1:]
    with open(list_path) as f:
        listed = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    if not os.path.isdir(shared_dir):
        print("shared-data: %s is missing (the shared data beside the repository, "
              "or cmake -DEFFC_SHARED_DIR=DIR)" % shared_dir, file=sys.stderr)
        return 1
    problems = []
    for entry in listed:
        kind = entry.split("/")[0]
        if kind not in REQUIRED or entry.count("/") != 1:
            problems.append("%s: %s is not models/<name>, lora/<name>, quant/<name> or moe/<name>" % (list_path, entry))
            continue
        for name in REQUIRED[kind]:
            path = os.path.join(shared_dir, entry, name)
            if not os.path.exists(path):
                problems.append("missing %s" % path)
    for kind in REQUIRED:
        kind_dir = os.path.join(shared_dir, kind)
        present = sorted(os.listdir(kind_dir)) if os.path.isdir(kind_dir) else []
        for name in present:
            if "%s/%s" % (kind, name) not in listed:
                problems.append("%s is not in %s (list it so its tests run)"
                                % (os.path.join(kind_dir, name), list_path))
    for p in problems:
        print("shared-data: " + p, file=sys.stderr)
    print("shared-data: %d entries listed, %d problems" % (len(listed), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
