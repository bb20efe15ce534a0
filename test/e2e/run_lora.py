#!/usr/bin/env python3
"""End-to-end check of LoRA insertion on one model of ../shared/lora/<arch>.

    run_lora.py MODEL_DIR BIN_DIR MODE [--backend host|cuda] [--dtype fp32|bf16|fp16] [--rtol F]

MODE:
  base      no adapter: matches test_data_set_0
  merged    --lora=adapter --lora-merge: matches lora_test_data_set_0
  unmerged  --lora=adapter (eff.lora_linear branches): matches lora_test_data_set_0
  indexed   two different adapters in one artifact, picked per request by the
            lora_index input, both derived here from the shared one
            (derive_adapter): a = its weights, b = half its rank, other rank
            components, B negated; both with lora_alpha x 8. References: base
            = test_data_set_0; a and b = the base model with that adapter
            merged (--lora-merge: weights folded at compile time, another code
            path than the indexed one, checked against PEFT by the merged
            mode), fp32 on the host backend. For each
            lora_index of [0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1], every
            batch row must match the reference of what its index selects
            (-1 = base). The three references are first checked to differ
            per batch row by far more than --rtol, so that swapped adapters or
            an index that is ignored cannot pass.
  nvrtc     the indexed artifact's kernels (two adapters of different rank)
            compile with NVRTC for sm_80 and sm_90 (effc-nvrtc-check)

Needs python's numpy and onnx (tools/setup.sh installs them); safetensors
files are read and written by hand (the format is a JSON header and bytes).
"""
import argparse, json, os, shutil, struct, subprocess, sys, tempfile

import numpy as np
import onnx
import onnx.numpy_helper

# --- files -----------------------------------------------------------------


def read_tensor_proto(path):
    """An onnx.TensorProto file: (name, numpy array)."""
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor.name, onnx.numpy_helper.to_array(tensor)


def write_tensor_proto(path, name, array):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array, name).SerializeToString())


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    tensors = {}
    for key, info in header.items():
        start, end = info["data_offsets"]
        tensors[key] = (info["dtype"], info["shape"], data[8 + n + start:8 + n + end])
    return meta, tensors


def write_safetensors(path, meta, tensors):
    header, offset, blobs = {}, 0, []
    if meta is not None:
        header["__metadata__"] = meta
    for key in sorted(tensors):
        dtype, shape, blob = tensors[key]
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob); blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


ELEMENT_BYTES = {"F32": 4, "F16": 2, "BF16": 2}


def derive_adapter(src, dst, alpha_factor, other_half):
    """An adapter for the modules of src with lora_alpha * alpha_factor and,
    with other_half, different weights: rank r2 = r // 2 taking A's last r2
    rows and B's matching last r2 columns (not a part of src's product), B
    negated (the sign bit of any float format). Tensors keep their dtype;
    only bytes are moved."""
    config = json.load(open(os.path.join(src, "adapter_config.json")))
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        sys.exit(f"{src}: derive_adapter handles a single rank (no rank_pattern/alpha_pattern)")
    r = config["r"]
    r2 = max(1, r // 2) if other_half else r
    meta, tensors = read_safetensors(os.path.join(src, "adapter_model.safetensors"))
    out = {}
    for key, (dtype, shape, blob) in tensors.items():
        size = ELEMENT_BYTES.get(dtype)
        if size is None:
            sys.exit(f"{src}: {key}: unexpected dtype {dtype}")
        if key.endswith("lora_A.weight"):  # [r, in]: rows r - r2 .. r - 1
            row = shape[1] * size
            out[key] = (dtype, [r2, shape[1]], blob[(r - r2) * row:])
        elif key.endswith("lora_B.weight"):  # [out, r]: columns r - r2 .. r - 1, negated
            cols = bytearray()
            for o in range(shape[0]):
                cols += blob[(o * r + r - r2) * size:(o + 1) * r * size]
            for e in range(size - 1, len(cols), size) if other_half else ():
                cols[e] ^= 0x80  # little-endian: the sign is in the last byte
            out[key] = (dtype, [shape[0], r2], bytes(cols))
        else:
            sys.exit(f"{src}: {key}: not a lora_A/lora_B weight")
    config["r"] = r2
    config["lora_alpha"] = alpha_factor * config["lora_alpha"]
    os.makedirs(dst)
    with open(os.path.join(dst, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(dst, "adapter_model.safetensors"), meta, out)


# --- checks ----------------------------------------------------------------


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
    ap.add_argument("mode", choices=["base", "merged", "unmerged", "indexed", "nvrtc"])
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
    model = [effc, os.path.join(a.model_dir, "model.onnx"), "--shape", "input_ids=2x16"]
    compile_cmd = model + ["--dtype", a.dtype, "-o", art]
    check = ["--backend=" + a.backend, "--rtol", a.rtol]

    if a.mode in ("base", "merged", "unmerged"):
        extra = {"base": [], "merged": ["--lora=" + adapter, "--lora-merge"],
                 "unmerged": ["--lora=" + adapter]}[a.mode]
        run(compile_cmd + extra)
        run([effc_run, art, "--test-data", base_ref if a.mode == "base" else lora_ref] + check)
        return

    # Two different adapters, their effects amplified (lora_alpha x 8) so that
    # every pair of references differs by far more than bf16's error, even on
    # bert whose shared adapter moves the logits by only ~1%.
    adapters = [os.path.join(work, "adapter_a"), os.path.join(work, "adapter_b")]
    derive_adapter(adapter, adapters[0], alpha_factor=8, other_half=False)
    derive_adapter(adapter, adapters[1], alpha_factor=8, other_half=True)
    run(compile_cmd + ["--lora", "a=" + adapters[0], "--lora", "b=" + adapters[1]])
    if a.mode == "nvrtc":
        run([os.path.join(a.bin_dir, "effc-nvrtc-check"), art, "--arch=sm_80,sm_90"])
        print("PASS")
        return

    # Each adapter's reference: merged into the weights (the code path the
    # merged mode checks against PEFT), fp32, host backend.
    input_ids = os.path.join(base_ref, "input_0.pb")
    refs = {-1: read_tensor_proto(os.path.join(base_ref, "output_0.pb"))}
    for i, path in enumerate(adapters):
        merged, ref_dir = os.path.join(work, f"merged_{i}.effc"), os.path.join(work, f"ref_{i}")
        os.makedirs(ref_dir)
        run(model + ["--lora=" + path, "--lora-merge", "-o", merged])
        run([effc_run, merged, "--backend=host", "--input", "input_ids=" + input_ids, "--save-test-data", ref_dir])
        refs[i] = read_tensor_proto(os.path.join(ref_dir, "output_0.pb"))
    name, base = refs[-1]
    if base.shape[0] != 2:
        sys.exit(f"{base_ref}: expected a batch of 2, got shape {list(base.shape)}")
    batch = base.shape[0]

    # Discrimination: in every batch row the three references differ by more
    # than 3 x the tolerance (relative to the larger of the two), so a row
    # computed with the wrong adapter (or none) is off by more than 2 x and
    # cannot pass the comparison below, which allows 1 x.
    rtol = float(a.rtol)
    for x, y in ((0, 1), (0, -1), (1, -1)):
        rx, ry = refs[x][1], refs[y][1]
        scale = max(np.abs(rx).max(), np.abs(ry).max())
        for r in range(batch):
            diff = np.abs(rx[r] - ry[r]).max() / scale
            print(f"references lora_index={x} vs {y}, batch row {r}: differ by {diff:.3g} (rel)")
            if diff <= 3 * rtol:
                sys.exit(f"FAIL: adapters {x} and {y} give nearly the same batch row {r}: the test "
                         "could not tell them apart")

    for index in ([0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1]):
        tag = "_".join(str(i) for i in index)
        expect = os.path.join(work, "expect_" + tag)
        os.makedirs(expect)
        shutil.copy(os.path.join(base_ref, "input_0.pb"), os.path.join(expect, "input_0.pb"))
        write_tensor_proto(os.path.join(expect, "output_0.pb"), name,
                           np.stack([refs[i][1][r] for r, i in enumerate(index)]))
        npy = os.path.join(work, f"index_{tag}.npy")
        np.save(npy, np.array(index, dtype=np.int64))
        print(f"lora_index={index}: batch rows vs the references of {index} (-1 = base, 0 = a, 1 = b)")
        run([effc_run, art, "--input", "lora_index=" + npy, "--test-data", expect] + check)
    print("PASS")


if __name__ == "__main__":
    main()
