#!/usr/bin/env python3
"""effc / effc-run flags from a test-data directory's input_*.pb files.

  pb_flags.py --shape DIR    --shape NAME=DxD... (for effc)
  pb_flags.py --input DIR    --input NAME=DIR/input_N.pb... (for effc-run)

Needs python's onnx. Exit 1 when DIR has no named input_*.pb.
"""
import glob
import os
import sys

import onnx


def name_and_dims(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor.name, list(tensor.dims)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("--shape", "--input"):
        sys.exit(__doc__)
    mode, folder = sys.argv[1], sys.argv[2]
    files = sorted(glob.glob(os.path.join(folder, "input_*.pb")),
                   key=lambda f: int(os.path.basename(f)[6:-3]))
    flags = []
    for f in files:
        name, dims = name_and_dims(f)
        if not name:
            sys.exit(f"pb_flags: {f}: the TensorProto has no name")
        if mode == "--shape":
            if dims:  # a scalar needs no --shape
                flags.append(f"--shape {name}={'x'.join(map(str, dims))}")
        else:
            flags.append(f"--input {name}={f}")
    if not flags:
        sys.exit(f"pb_flags: no input_*.pb{' with a shape' if mode == '--shape' else ''} in {folder}")
    print(" ".join(flags))


if __name__ == "__main__":
    main()
