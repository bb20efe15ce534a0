#!/usr/bin/env python3
"""effc / effc-run flags from a test-data directory's input_*.pb files.

  pb_flags.py --shape DIR    --shape NAME=DxD... (for effc)
  pb_flags.py --input DIR    --input NAME=DIR/input_N.pb... (for effc-run)

Reads TensorProto fields 1 (dims) and 8 (name) with a tiny protobuf walker,
so no onnx module is needed. Exit 1 when DIR has no named input_*.pb.
"""
import glob
import os
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def name_and_dims(path):
    b = open(path, "rb").read()
    i, dims, name = 0, [], ""
    while i < len(b):
        key, i = varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
            if field == 1:
                dims.append(v)
        elif wire == 2:
            n, i = varint(b, i)
            if field == 1:  # packed dims
                j = i
                while j < i + n:
                    v, j = varint(b, j)
                    dims.append(v)
            elif field == 8:
                name = b[i:i + n].decode()
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            break
    return name, dims


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
