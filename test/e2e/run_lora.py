#!/usr/bin/env python3
"""End-to-end check of LoRA insertion on one model of ../shared/lora/<arch>.

    run_lora.py MODEL_DIR BIN_DIR MODE [--backend host|cuda] [--dtype fp32|bf16|fp16] [--rtol F]

MODE:
  base      no adapter: matches test_data_set_0
  merged    --lora=adapter --lora-merge: matches lora_test_data_set_0
  unmerged  --lora=adapter (eff.lora_linear branches): matches lora_test_data_set_0
  indexed   --lora a=adapter --lora b=adapter (two adapters, lora_index input):
            [0, 1] and [1, 0] match the adapted reference, [-1, -1] the base
            reference, and the mixed batch [0, -1] gives, row by row, the
            adapted run's row 0 and the base run's row 1.

Needs only the Python standard library (CI has no numpy): lora_index is
written as .npy by hand and outputs are read back from effc-run --output-dir.
"""
import argparse, ast, os, shutil, struct, subprocess, sys, tempfile


def write_npy_i64(path, values):
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }" % len(values)
    pad = 64 - (10 + len(header) + 1) % 64
    header += " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack("<%dq" % len(values), *values))


def read_npy_f32(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = data[6]
    hlen = struct.unpack("<H", data[8:10])[0] if major == 1 else struct.unpack("<I", data[8:12])[0]
    start = (10 if major == 1 else 12)
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header["descr"] != "<f4":
        sys.exit(f"{path}: expected float32, got {header['descr']}")
    body = data[start + hlen:]
    return list(header["shape"]), list(struct.unpack("<%df" % (len(body) // 4), body))


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        sys.exit(f"FAILED (exit {r.returncode}): {' '.join(cmd)}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir"); ap.add_argument("bin_dir")
    ap.add_argument("mode", choices=["base", "merged", "unmerged", "indexed"])
    ap.add_argument("--backend", default="host"); ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--rtol", default="1e-4")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="effc-lora-")
    try:
        check_mode(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_mode(a, work):
    effc, effc_run = os.path.join(a.bin_dir, "effc"), os.path.join(a.bin_dir, "effc-run")
    adapter = os.path.join(a.model_dir, "adapter")
    base_ref = os.path.join(a.model_dir, "test_data_set_0")
    lora_ref = os.path.join(a.model_dir, "lora_test_data_set_0")
    art = os.path.join(work, "model.effc")
    compile_cmd = [effc, os.path.join(a.model_dir, "model.onnx"), "--shape", "input_ids=2x16",
                   "--dtype", a.dtype, "-o", art]
    check = ["--backend=" + a.backend, "--rtol", a.rtol]

    if a.mode in ("base", "merged", "unmerged"):
        extra = {"base": [], "merged": ["--lora=" + adapter, "--lora-merge"],
                 "unmerged": ["--lora=" + adapter]}[a.mode]
        run(compile_cmd + extra)
        run([effc_run, art, "--test-data", base_ref if a.mode == "base" else lora_ref] + check)
        return

    run(compile_cmd + ["--lora", "a=" + adapter, "--lora", "b=" + adapter])
    outputs = {}
    for index, ref in (([0, 1], lora_ref), ([1, 0], lora_ref), ([-1, -1], base_ref), ([0, -1], None)):
        name = "_".join(str(i) for i in index)
        npy = os.path.join(work, f"index_{name}.npy")
        write_npy_i64(npy, index)
        out_dir = os.path.join(work, f"out_{name}")
        os.makedirs(out_dir)
        cmd = [effc_run, art, "--input", "lora_index=" + npy, "--output-dir", out_dir] + check
        if ref:
            cmd += ["--test-data", ref]
        else:  # no reference for a mixed batch: its rows are checked below
            cmd += ["--input", "input_ids=" + os.path.join(base_ref, "input_0.pb")]
        run(cmd)
        files = sorted(os.listdir(out_dir))
        outputs[name] = read_npy_f32(os.path.join(out_dir, files[0]))
    shape, mixed = outputs["0_-1"]
    row = len(mixed) // shape[0]
    worst = 0.0
    for r, source in ((0, "0_1"), (1, "-1_-1")):
        ref = outputs[source][1][r * row:(r + 1) * row]
        got = mixed[r * row:(r + 1) * row]
        scale = max(abs(v) for v in ref) or 1.0
        err = max(abs(x - y) for x, y in zip(got, ref)) / scale
        print(f"mixed batch row {r} vs lora_index={source}: max_rel_err={err:.3g}")
        worst = max(worst, err)
    if worst > float(a.rtol):
        sys.exit("FAIL: a mixed batch differs from the single-adapter runs")
    print("PASS")


if __name__ == "__main__":
    main()
