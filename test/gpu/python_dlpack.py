#!/usr/bin/env python3
"""The effc Python package on a GPU with torch: tensors in and out through
DLPack with no host round trip, checked against the host backend, and one
step timed with and without host copies.

    python3 test/gpu/python_dlpack.py MODELS_DIR [--onnx FILE --shape NAME=DxD ...]

MODELS_DIR is ../shared/models (gpt2-dynamo is compiled from it with
effc.compile, so the effc module must have the compiler: the wheel
test/gpu/stage.sh builds). --onnx adds a model to time (e.g. the GPT-2 export
bench/models makes: $EFFC_EXPORT_CACHE/gpt2/model.onnx --shape input_ids=8x512).

Checks (any failure exits 1):
  - a torch CUDA tensor goes in as is (DLPack), run() returns effc.Tensors on
    cuda:0, and torch.from_dlpack gives a CUDA tensor over the same memory
    (data_ptr equal: no copy);
  - its values match a host-backend run of the same inputs (max_rel_err);
  - run_into writes into torch.empty(..., device="cuda") buffers (same values);
  - with the session on torch's current stream, the outputs are read on that
    stream without a synchronization in between.
Then prints a table: median ms per step over 50 runs (torch.cuda events) for
  device in -> device out (run), device in -> caller buffers (run_into),
  device in -> host copies (run(to_host=True)), host numpy in -> host out.
"""
import argparse
import glob
import os
import statistics
import sys

import numpy as np

try:
    import onnx
    import onnx.numpy_helper
    import torch

    import effc
except ImportError as e:
    sys.exit("python_dlpack: error: %s (needs torch, onnx and the effc wheel of "
             "test/gpu/stage.sh)" % e)

failures = []


def check(ok, what):
    print("%s %s" % ("PASS" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def read_inputs(data_dir):
    inputs = {}
    for path in sorted(glob.glob(os.path.join(data_dir, "input_*.pb"))):
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        inputs[t.name] = onnx.numpy_helper.to_array(t)
    if not inputs:
        sys.exit("python_dlpack: error: no input_*.pb in %s" % data_dir)
    return inputs


def max_rel_err(got, ref):
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))


def time_ms(step, iters=50, warmup=5):
    """Median of `iters` steps, each between torch.cuda events on the current stream."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def check_model(label, model, np_inputs, reference=None, host_backend=True):
    """The DLPack checks on one compiled model; returns its timing rows. The
    values are compared with `reference`, else a host-backend run, else
    (host_backend=False: too slow for a large model) the same session's host
    copies."""
    stream = torch.cuda.current_stream()  # main() made it a non-default stream
    sess = model.session(device="cuda", stream=stream)
    check(sess.device == "cuda" and sess.stream == stream.cuda_stream,
          "%s: session on torch's current stream" % label)
    dev_inputs = {k: torch.from_numpy(v).cuda() for k, v in np_inputs.items()}
    torch.cuda.synchronize()

    out = sess.run(dev_inputs)
    names = [o.name for o in model.outputs]
    check(list(out) == names, "%s: run() returns every output by name" % label)
    if reference is None:
        host_sess = model.session(device="host") if host_backend else sess
        host = host_sess.run(np_inputs, to_host=True)
        against = "host backend" if host_backend else "run(to_host=True)"
    else:
        against = "reference"
    for name, tensor in out.items():
        t = torch.from_dlpack(tensor)  # stream-ordered on the session's (torch's) stream
        check(tensor.device == "cuda:0" and t.is_cuda and t.device.index == 0,
              "%s: %s stays on cuda:0 (%s)" % (label, name, t.device))
        check(t.data_ptr() == tensor.data_ptr,
              "%s: %s: torch.from_dlpack shares the memory (no copy)" % (label, name))
        check(tuple(t.shape) == tensor.shape, "%s: %s shape %s" % (label, name, tuple(t.shape)))
        ref = reference[names.index(name)] if reference is not None else np.asarray(host[name])
        err = max_rel_err(t.float().cpu().numpy(), ref)
        check(err <= 1e-3, "%s: %s vs %s: max_rel_err=%.3g" % (label, name, against, err))

    buffers = {o.name: torch.empty(o.shape, dtype=getattr(torch, o.dtype), device="cuda")
               for o in model.outputs}
    sess.run_into(dev_inputs, buffers)
    for name, buf in buffers.items():
        same = torch.equal(buf, torch.from_dlpack(out[name]))
        check(same, "%s: run_into(%s) into a torch CUDA buffer equals run()" % (label, name))

    rows = [
        ("device in -> device out (run)", lambda: sess.run(dev_inputs)),
        ("device in -> torch buffers (run_into)", lambda: sess.run_into(dev_inputs, buffers)),
        ("device in -> host copies (to_host=True)",
         lambda: [np.asarray(t) for t in sess.run(dev_inputs, to_host=True).values()]),
        ("host numpy in -> host numpy out",
         lambda: [np.asarray(t) for t in sess.run(np_inputs, to_host=True).values()]),
    ]
    return [(label, what, time_ms(step)) for what, step in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models_dir")
    ap.add_argument("--onnx", help="another model to check and time")
    ap.add_argument("--shape", action="append", default=[], help="NAME=DxD for --onnx")
    ap.add_argument("--dtype", default="fp32")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("python_dlpack: error: torch sees no CUDA device")
    if not effc.has_compiler:
        sys.exit("python_dlpack: error: this effc module has no compiler (EFFC_RUNTIME_ONLY); "
                 "install the wheel test/gpu/stage.sh builds")
    print("effc %s, torch %s, %s" % (effc.__version__, torch.__version__,
                                      torch.cuda.get_device_name()))
    # A stream of our own: the default stream's handle is 0, which tells a
    # session to create its own stream.
    with torch.cuda.stream(torch.cuda.Stream()):
        return checks_and_timings(args)


def checks_and_timings(args):
    gpt2 = os.path.join(args.models_dir, "gpt2-dynamo")
    data = os.path.join(gpt2, "test_data_set_0")
    inputs = read_inputs(data)
    refs = []
    for path in sorted(glob.glob(os.path.join(data, "output_*.pb"))):
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        refs.append(onnx.numpy_helper.to_array(t))
    model = effc.compile(os.path.join(gpt2, "model.onnx"),
                         shapes={k: v.shape for k, v in inputs.items()})
    table = check_model("gpt2-dynamo %s" % "x".join(map(str, inputs["input_ids"].shape)),
                        model, inputs, refs)
    # A larger batch of the same model (positions up to 128) for the timing.
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 512, size=(8, 128), dtype=np.int64)
    model = effc.compile(os.path.join(gpt2, "model.onnx"), shapes={"input_ids": ids.shape})
    table += check_model("gpt2-dynamo 8x128", model, {"input_ids": ids})

    if args.onnx:
        shapes = {}
        for spec in args.shape:
            name, dims = spec.split("=")
            shapes[name] = tuple(int(d) for d in dims.split("x"))
        model = effc.compile(args.onnx, dtype=args.dtype, shapes=shapes)
        np_inputs = {i.name: rng.integers(0, 1000, size=i.shape).astype(i.dtype)
                     for i in model.inputs}
        table += check_model("%s %s" % (os.path.basename(os.path.dirname(args.onnx)),
                                        " ".join(args.shape)), model, np_inputs,
                             host_backend=False)

    print("\n%-24s %-42s %10s" % ("model", "step", "median ms"))
    for label, what, ms in table:
        print("%-24s %-42s %10.3f" % (label, what, ms))
    if failures:
        print("\npython_dlpack: %d checks failed" % len(failures))
        return 1
    print("\npython_dlpack: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
