"""The effc Python package on the host backend: compile, run and compare with
the shared references, save/load, DLPack, errors, documentation."""
import inspect
import pathlib

import numpy as np
import pytest

import effc
from conftest import REPO, SHARED, check_close, load_test_data, model_dir, tolerance


def run_and_check(model, inputs, outputs, name, dtype):
    sess = model.session(device="host")
    got = sess.run(inputs)
    assert list(got) == [o.name for o in model.outputs]
    rtol, row_rtol = tolerance(name, dtype)
    for (out_name, tensor), ref in zip(got.items(), outputs):
        assert tensor.device == "host"
        check_close(out_name, np.asarray(tensor), ref, rtol, row_rtol)


@pytest.mark.parametrize("name", ["gpt2-dynamo", "bert-legacy", "llama-dynamo"])
def test_models_match_reference(name):
    d = model_dir(name)
    inputs, outputs = load_test_data(d)
    model = effc.compile(str(d / "model.onnx"), shapes={k: v.shape for k, v in inputs.items()})
    assert [i.name for i in model.inputs] == list(inputs)
    for info in model.inputs:
        assert info.shape == inputs[info.name].shape
        assert info.dtype == str(inputs[info.name].dtype)
    run_and_check(model, inputs, outputs, name, "fp32")


@pytest.mark.parametrize("scheme", ["int8", "nf4", "llm-int8"])
def test_quantize_weights(scheme, tmp_path):
    """quantize= is effc --quantize: llama's linear layers packed, the logits
    within the scheme's error of the fp32 reference (int8 and llm-int8 ~1e-2,
    nf4 ~0.15 max abs on this random-weight model), the artifact smaller."""
    d = model_dir("llama-dynamo")
    inputs, outputs = load_test_data(d)
    shapes = {k: v.shape for k, v in inputs.items()}
    full = effc.compile(str(d / "model.onnx"), shapes=shapes)
    model = effc.compile(str(d / "model.onnx"), shapes=shapes, quantize=scheme,
                         llm_int8_threshold=6.0)
    logits = np.asarray(model.session(device="host").run(inputs)["logits"])
    err = np.abs(logits - outputs[0]).max()
    assert 0 < err < (0.25 if scheme == "nf4" else 0.03), err
    full.save(str(tmp_path / "full.effc"))
    model.save(str(tmp_path / "quantized.effc"))
    assert (tmp_path / "quantized.effc").stat().st_size < 0.6 * (tmp_path / "full.effc").stat().st_size


def test_dims_fix_named_dims():
    """dims= is effc --dim: the dim_params batch and seq of gpt2-dynamo fixed
    by name give the same artifact as shapes= of the test data."""
    d = model_dir("gpt2-dynamo")
    inputs, outputs = load_test_data(d)
    batch, seq = inputs["input_ids"].shape
    model = effc.compile(str(d / "model.onnx"), dims={"batch": batch, "seq": seq})
    assert model.inputs[0].shape == (batch, seq)
    run_and_check(model, inputs, outputs, "gpt2-dynamo", "fp32")


def test_dims_bounds_keep_a_dim_symbolic():
    """dims={"past": (0, 255)} is effc --dim past=0..255 (host_only): one model
    runs test_data_set_0 (past 5) and other past lengths, its inputs and
    outputs sized per run; past 256 is outside the bounds."""
    d = SHARED / "decoders" / "llama-withpast"
    inputs, outputs = load_test_data(d)
    model = effc.compile(str(d / "model.onnx"), host_only=True,
                         dims={"batch": 2, "seq": 3, "past": (0, 255), "total": "3..258"})
    assert model.inputs[1].shape == (2, -1)
    sess = model.session(device="host")
    got = sess.run(inputs)
    for (out_name, tensor), ref in zip(got.items(), outputs):
        check_close(out_name, np.asarray(tensor), ref, 1e-4, 4e-4)
    for past in (0, 17):
        step = dict(inputs)
        step["attention_mask"] = np.ones((2, past + 3), np.int64)
        for name in step:
            if name.startswith("past_key_values"):
                step[name] = np.zeros((2, 2, past, 16), np.float32)
        present = np.asarray(sess.run(step)["present.0.key"])
        assert present.shape == (2, 2, past + 3, 16)
    step["attention_mask"] = np.ones((2, 258), np.int64)
    for name in step:
        if name.startswith("past_key_values"):
            step[name] = np.zeros((2, 2, 256, 16), np.float32)
    with pytest.raises(RuntimeError, match="dim 2 'past' = 256 is outside 0..255"):
        sess.run(step)
    # Without host_only, a kernel family without runtime extents on CUDA is a
    # compile error naming the op (here symbolic seq reaches the GEMMs).
    with pytest.raises(RuntimeError, match="runtime extents .* are not done yet"):
        effc.compile(str(SHARED / "models" / "llama-dynamo" / "model.onnx"),
                     dims={"batch": 2, "seq": (1, 32)})


def test_bf16_matches_reference_and_converts():
    name = "gpt2-dynamo"
    d = model_dir(name)
    inputs, outputs = load_test_data(d)
    model = effc.compile(str(d / "model.onnx"), dtype="bf16",
                         shapes={k: v.shape for k, v in inputs.items()})
    run_and_check(model, inputs, outputs, name, "bf16")


def test_save_load_round_trip(gpt2, tmp_path):
    model, inputs, outputs = gpt2
    path = tmp_path / "gpt2.effc"
    model.save(str(path))
    assert path.stat().st_size > 0
    loaded = effc.load(str(path))
    assert loaded.path == str(path)
    assert [(i.name, i.dtype, i.shape) for i in loaded.inputs] == \
        [(i.name, i.dtype, i.shape) for i in model.inputs]
    a = model.session(device="host").run(inputs)
    b = loaded.session(device="host").run(inputs)
    for x, y in zip(a.values(), b.values()):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    # What a loaded model saves is the same file.
    again = tmp_path / "again.effc"
    loaded.save(str(again))
    assert again.read_bytes() == path.read_bytes()


def test_dlpack_in_and_out(gpt2):
    model, inputs, outputs = gpt2
    sess = model.session(device="host")
    ref = {k: np.asarray(v) for k, v in sess.run(inputs).items()}

    class DLPackOnly:
        """A producer that only speaks DLPack (as a torch tensor would)."""

        def __init__(self, array):
            self.array = array

        def __dlpack__(self, **kwargs):
            return self.array.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.array.__dlpack_device__()

    got = sess.run({k: DLPackOnly(v) for k, v in inputs.items()})
    for name, tensor in got.items():
        assert tensor.__dlpack_device__() == (1, 0)
        via_dlpack = np.from_dlpack(tensor)
        assert np.array_equal(via_dlpack, ref[name])
        assert tensor.shape == via_dlpack.shape
        assert tensor.dtype == str(via_dlpack.dtype)
        # numpy views share the tensor's memory (no copy), and keep it alive.
        view = tensor.numpy()
        assert np.shares_memory(view, np.asarray(tensor))
    del got, tensor
    assert np.array_equal(view, ref[name])


def test_non_contiguous_and_list_inputs(gpt2):
    model, inputs, outputs = gpt2
    sess = model.session(device="host")
    ref = [np.asarray(t) for t in sess.run(inputs).values()]
    name, ids = next(iter(inputs.items()))
    strided = np.asfortranarray(ids)  # copied to C order on the way in
    got = [np.asarray(t) for t in sess.run({name: strided}).values()]
    assert all(np.array_equal(a, b) for a, b in zip(got, ref))
    got = [np.asarray(t) for t in sess.run({name: ids.tolist()}).values()]
    assert all(np.array_equal(a, b) for a, b in zip(got, ref))


def test_bf16_numpy_needs_ml_dtypes(monkeypatch):
    d = model_dir("gpt2-dynamo")
    inputs, _ = load_test_data(d)
    # An artifact whose output is bfloat16: the eff IR of a bf16 cast.
    mlir = REPO / "test/python/inputs/bf16_output.mlir"
    model = effc.compile(str(mlir))
    assert model.outputs[0].dtype == "bfloat16"
    x = np.array([[1.0, 2.5, -3.0]], dtype=np.float32)
    out = model.session(device="host").run({"x": x})["y"]
    assert out.dtype == "bfloat16"
    raw = out._numpy_view()
    assert raw.dtype == np.uint16
    assert list(raw.ravel()) == [0x3F80, 0x4020, 0xC040]  # 1.0, 2.5, -3.0 in bf16
    monkeypatch.setitem(__import__("sys").modules, "ml_dtypes", None)
    with pytest.raises(TypeError, match="numpy has no bfloat16.*ml_dtypes"):
        np.asarray(out)
    monkeypatch.undo()
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        return  # the error above is what a user without ml_dtypes sees
    assert np.array_equal(np.asarray(out).astype(np.float32), x)


def test_bad_run_inputs_raise(gpt2):
    model, inputs, outputs = gpt2
    sess = model.session(device="host")
    name, ids = next(iter(inputs.items()))
    with pytest.raises(RuntimeError, match=name):
        sess.run({})
    with pytest.raises(RuntimeError, match="nonexistent"):
        sess.run({name: ids, "nonexistent": ids})
    with pytest.raises(RuntimeError, match="%s.*(dtype|int64|float32)" % name):
        sess.run({name: ids.astype(np.float32)})
    with pytest.raises(RuntimeError, match="%s.*shape" % name):
        sess.run({name: ids[:, :-1]})
    with pytest.raises(ValueError, match="not an array"):
        sess.run({name: object()})
    with pytest.raises(ValueError, match="no dtype for DLPack type complex"):
        sess.run({name: ids.astype(np.complex64)})


def test_bad_session_and_files_raise(gpt2, tmp_path):
    model = gpt2[0]
    with pytest.raises(ValueError, match='device must be "cuda", "cuda:N" or "host", got "tpu"'):
        model.session(device="tpu")
    with pytest.raises(RuntimeError, match="nonexistent.effc"):
        effc.load(str(tmp_path / "nonexistent.effc"))
    corrupt = tmp_path / "corrupt.effc"
    path = tmp_path / "good.effc"
    model.save(str(path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="corrupt.effc"):
        effc.load(str(corrupt))
    with pytest.raises(RuntimeError, match="cannot open for writing"):
        model.save(str(tmp_path / "no-such-dir" / "m.effc"))


def test_cuda_without_gpu_is_an_error_or_works(gpt2):
    """The default device is cuda; on a machine without a GPU it must say so."""
    model = gpt2[0]
    try:
        sess = model.session()
    except RuntimeError as e:
        assert "cuda" in str(e).lower()
    else:
        assert sess.device == "cuda"


def test_moe_partitions():
    """moe_partitions= is effc --moe-partitions: mixtral's experts in 2 groups
    give the unpartitioned logits (up to fp32 summation order)."""
    d = model_dir("mixtral-dynamo")
    inputs, outputs = load_test_data(d)
    shapes = {k: v.shape for k, v in inputs.items()}
    whole = effc.compile(str(d / "model.onnx"), shapes=shapes)
    split = effc.compile(str(d / "model.onnx"), shapes=shapes, moe_partitions=2)
    a = np.asarray(whole.session(device="host").run(inputs)["logits"])
    b = np.asarray(split.session(device="host").run(inputs)["logits"])
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    check_close("logits", b, outputs[0], *tolerance("mixtral-dynamo", "fp32"))
    with pytest.raises(ValueError, match="moe_partitions must be >= 1, got 0"):
        effc.compile(str(d / "model.onnx"), shapes=shapes, moe_partitions=0)


def test_devices():
    """devices= is effc --devices: llama's linears split over 2 devices
    (column-parallel, the MLP's down projection row-parallel) give the same
    logits up to the fp32 order of the partial sums (run as one device)."""
    d = model_dir("llama-dynamo")
    inputs, outputs = load_test_data(d)
    shapes = {k: v.shape for k, v in inputs.items()}
    whole = effc.compile(str(d / "model.onnx"), shapes=shapes)
    split = effc.compile(str(d / "model.onnx"), shapes=shapes, devices=2)
    a = np.asarray(whole.session(device="host").run(inputs)["logits"])
    b = np.asarray(split.session(device="host").run(inputs)["logits"])
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    check_close("logits", b, outputs[0], *tolerance("llama-dynamo", "fp32"))
    with pytest.raises(ValueError, match="devices must be >= 1, got 0"):
        effc.compile(str(d / "model.onnx"), shapes=shapes, devices=0)
    # session(devices=2): the host backend runs the plan on 2 simulated
    # devices (an arena each, the collectives as copies) and gives the
    # one-device run's logits bit for bit (each device computes the same sums).
    c = np.asarray(split.session(device="host", devices=2).run(inputs)["logits"])
    np.testing.assert_array_equal(c, b)
    with pytest.raises(RuntimeError, match="partitioned for 2"):
        split.session(device="host", devices=4)
    with pytest.raises(RuntimeError, match="not partitioned"):
        whole.session(device="host", devices=2)
    with pytest.raises(ValueError, match="session\\(\\): devices must be >= 1, got 0"):
        split.session(device="host", devices=0)


def test_bad_compile_options_raise(tmp_path):
    onnx_path = str(model_dir("gpt2-dynamo") / "model.onnx")
    with pytest.raises(ValueError, match="dims: --dim seq: '-1': expects N"):
        effc.compile(onnx_path, dims={"seq": -1})
    with pytest.raises(ValueError, match="dims\\['seq'\\] must be an int"):
        effc.compile(onnx_path, dims={"seq": 1.5})
    with pytest.raises(ValueError, match="dims must be a dict"):
        effc.compile(onnx_path, dims=[("seq", 16)])
    with pytest.raises(RuntimeError, match="--quantize must be int8, nf4 or llm-int8, got 'int3'"):
        effc.compile(onnx_path, quantize="int3")
    with pytest.raises(RuntimeError, match="--llm-int8-threshold needs --quantize=llm-int8"):
        effc.compile(onnx_path, quantize="int8", llm_int8_threshold=3.0)
    with pytest.raises(ValueError, match="quantize must be None"):
        effc.compile(onnx_path, quantize=8)
    with pytest.raises(ValueError, match='dtype must be "fp32", "bf16" or "fp16", got "int4"'):
        effc.compile(onnx_path, dtype="int4")
    with pytest.raises(ValueError, match="shapes must be a dict"):
        effc.compile(onnx_path, shapes=[2, 16])
    with pytest.raises(ValueError, match="shapes\\['input_ids'\\] has a negative dim"):
        effc.compile(onnx_path, shapes={"input_ids": (2, -1)})
    with pytest.raises(RuntimeError, match="--lora-merge needs an adapter"):
        effc.compile(onnx_path, lora_merge=True)
    with pytest.raises(RuntimeError, match="nonexistent.onnx"):
        effc.compile(str(tmp_path / "nonexistent.onnx"))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07 this is not a model")
    with pytest.raises(RuntimeError, match="garbage.onnx"):
        effc.compile(str(garbage))
    with pytest.raises(TypeError):
        effc.compile(onnx_path, "bf16")  # options are keyword-only


def test_gemm_keyword():
    """gemm= is effc --gemm: a bad value is a ValueError, wgmma/tma need arch "sm_90a"."""
    onnx_path = str(model_dir("gpt2-dynamo") / "model.onnx")
    with pytest.raises(ValueError, match="gemm must be"):
        effc.compile(onnx_path, gemm="fast")
    with pytest.raises(RuntimeError, match="--gemm=tma needs --arch=sm_90a"):
        effc.compile(onnx_path, gemm="tma")
    assert effc.compile(onnx_path, shapes={"input_ids": (2, 16)}, gemm="mma") is not None


def test_compile_error_names_the_node():
    bad = REPO / "test/python/inputs/bad_matmul.mlir"
    with pytest.raises(RuntimeError, match="bad_matmul.mlir:.*error:"):
        effc.compile(str(bad))


def test_help_documents_every_argument():
    doc = effc.compile.__doc__
    params = ["path", "dtype", "shapes", "dims", "lora", "quantize", "llm_int8_threshold", "lora_merge",
              "fuse",
              "raise_attention", "split_kv_decode", "split_kv_splits", "kv_cache", "paged_kv",
              "paged_kv_pages", "packed_tokens", "quantize_block", "quantize_double", "quantize_skip",
              "decompose_lora", "moe_partitions", "devices",
              "host_only", "kv_state",
              "embed_cubin",
              "arch", "gemm", "decode_gemv", "const_inputs", "remarks", "verbose"]
    for p in params:
        assert "\n%s:" % p in doc or doc.startswith("compile(%s" % p), p
        assert p in doc.split("\n")[0], "signature lacks %s" % p
    assert "device:" in effc.Model.session.__doc__
    assert "\ndevices:" in effc.Model.session.__doc__
    assert "inputs:" in effc.Session.run.__doc__
    for p in ["session", "draft", "speculate", "kv_page_size", "kv_pool_pages", "share_prefixes",
              "max_sequences", "max_queued"]:
        assert "\n%s:" % p in effc.Engine.__init__.__doc__, p
    for f in (effc.Engine.submit, effc.Engine.step, effc.Engine.run, effc.Engine.poll,
              effc.Engine.stats):
        assert f.__doc__
    for f in (effc.load, effc.Model.save, effc.Tensor.numpy):
        assert f.__doc__
    assert "bfloat16" in effc.Tensor.__doc__


def test_stubs_are_shipped():
    pkg = pathlib.Path(effc.__file__).parent
    stub = (pkg / "_effc.pyi").read_text()
    assert (pkg / "py.typed").is_file()
    for name in ["def compile(", "def load(", "class Model", "class Session", "class Engine", "class Tensor",
                 "def __dlpack__", "def run("]:
        assert name in stub, name
    assert inspect.ismodule(effc._effc)


def test_positional_inputs_and_run_into(gpt2):
    model, inputs, outputs = gpt2
    sess = model.session(device="host")
    ref = {k: np.asarray(v) for k, v in sess.run(inputs).items()}
    got = sess.run([inputs[i.name] for i in model.inputs])
    assert all(np.array_equal(np.asarray(got[k]), ref[k]) for k in ref)
    with pytest.raises(ValueError, match="the model has 1 inputs, got 2"):
        sess.run([inputs["input_ids"], inputs["input_ids"]])
    buffers = {o.name: np.full(o.shape, np.nan, dtype=o.dtype) for o in model.outputs}
    assert sess.run_into(inputs, buffers) is None
    assert all(np.array_equal(buffers[k], ref[k]) for k in ref)
    t = sess.run(inputs)["logits"]
    assert t.data_ptr == np.asarray(t).ctypes.data  # numpy views the tensor's memory
    with pytest.raises(ValueError, match="output 'logits': needs a writable, C-contiguous"):
        sess.run_into(inputs, {"logits": np.asfortranarray(buffers["logits"])})
    with pytest.raises(RuntimeError, match="logits"):
        sess.run_into(inputs, {"logits": buffers["logits"][:1]})


def test_session_options(gpt2):
    model = gpt2[0]
    sess = model.session(device="host", kernel_cache=False, cuda_graphs=False, verbosity=0,
                         arena_limit_bytes=1 << 40)
    assert sess.device == "host" and sess.stream == 0
    with pytest.raises(RuntimeError, match="arena"):
        model.session(device="host", arena_limit_bytes=1)
    with pytest.raises(ValueError, match="stream must be an int"):
        model.session(device="host", stream="default")
    with pytest.raises(ValueError, match='got "cuda:x"'):
        model.session(device="cuda:x")
    with pytest.raises(TypeError):
        model.session("host", False)  # options are keyword-only


def test_readme_example_runs(tmp_path, monkeypatch):
    """The first Python example of README.md's "Python" section, as written
    (with ../shared read from EFFC_SHARED_DIR)."""
    from conftest import SHARED

    import re

    readme = (REPO / "README.md").read_text()
    section = re.split(r"\n#+ Python\n", readme, maxsplit=1)
    assert len(section) == 2, "README.md has no 'Python' section"
    example = section[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert "effc.compile(" in example and ".session(" in example
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(example.replace("../shared", str(SHARED)), "README.md", "exec"), scope)
    assert scope["logits"].shape == (2, 16, 512)
    assert (tmp_path / "gpt2.effc").is_file()


def test_threads_share_a_model_and_a_session(gpt2):
    """run() releases the GIL; one session serializes its callers, several
    sessions over one model run side by side."""
    import threading

    model, inputs, outputs = gpt2
    shared = model.session(device="host")
    ref = np.asarray(shared.run(inputs)["logits"])
    results, errors = [], []

    def work(sess):
        try:
            for _ in range(3):
                results.append(np.asarray(sess.run(inputs)["logits"]))
        except Exception as e:  # reported below
            errors.append(e)

    sessions = [shared, shared, model.session(device="host"), model.session(device="host")]
    threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 12 and all(np.array_equal(r, ref) for r in results)
