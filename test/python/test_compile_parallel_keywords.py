"""effc.compile's keywords for effc --last-logits, --devices-attention,
--ring-layout and --expert-parallel on the host backend: each compile gives
the plain compile's outputs, and a bad spelling is a ValueError naming the
keyword and the allowed values."""
import numpy as np
import pytest

import effc
from conftest import SHARED, check_close, load_test_data, model_dir, read_tensor, tolerance


def compile_and_run(d, inputs, devices=1, **kw):
    shapes = {k: v.shape for k, v in inputs.items()}
    model = effc.compile(str(d / "model.onnx"), shapes=shapes, devices=devices, **kw)
    return model, model.session(device="host", devices=devices).run(inputs)


@pytest.mark.parametrize("layout, tokens", [("auto", "striped"), ("contiguous", "contiguous")])
def test_ring_attention_equals_one_device(layout, tokens, capfd):
    """devices=2, devices_attention="ring" (eff.ring_attention over 2
    simulated devices, the layout ring_layout names: the remark says so)
    gives the one-device logits."""
    d = model_dir("llama-dynamo")
    inputs, outputs = load_test_data(d)
    _, whole = compile_and_run(d, inputs)
    capfd.readouterr()
    _, ring = compile_and_run(d, inputs, devices=2, devices_attention="ring", ring_layout=layout,
                              remarks=True)
    err = capfd.readouterr().err
    assert "remark: ring attention over 2 devices: %s tokens" % tokens in err, err[-2000:]
    a, b = np.asarray(whole["logits"]), np.asarray(ring["logits"])
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    check_close("logits", b, outputs[0], *tolerance("llama-dynamo", "fp32"))


def test_expert_parallel_equals_one_device(capfd):
    """devices=2, expert_parallel="all-to-all" (token shards exchanged with
    the experts' devices; the remark says so) gives the one-device output."""
    d = model_dir("mixtral-dynamo")
    inputs, outputs = load_test_data(d)
    model, whole = compile_and_run(d, inputs)
    name = model.outputs[0].name
    capfd.readouterr()
    _, a2a = compile_and_run(d, inputs, devices=2, expert_parallel="all-to-all", remarks=True)
    err = capfd.readouterr().err
    assert "remark: expert parallel (all-to-all) over 2 devices" in err, err[-2000:]
    np.testing.assert_allclose(np.asarray(a2a[name]), np.asarray(whole[name]), rtol=1e-5,
                               atol=1e-5)
    check_close(name, np.asarray(a2a[name]), outputs[0], *tolerance("mixtral-dynamo", "fp32"))


@pytest.mark.parametrize("keyword, allowed", [
    ("devices_attention", '"replicate" or "ring"'),
    ("ring_layout", '"auto", "striped" or "contiguous"'),
    ("expert_parallel", '"replicate" or "all-to-all"'),
])
def test_bad_spelling_names_keyword_and_choices(keyword, allowed):
    onnx_path = str(model_dir("llama-dynamo") / "model.onnx")
    with pytest.raises(ValueError, match='compile\\(\\): %s must be %s, got "rings"' % (
            keyword, allowed)):
        effc.compile(onnx_path, devices=2, **{keyword: "rings"})


LLAMA = SHARED / "decoders" / "llama"
WITHPAST = SHARED / "decoders" / "llama-withpast"
DIMS = {"batch": 2, "seq": (1, 8), "past": (0, 63), "total": (1, 71)}


def test_last_logits_shape_values_and_generate():
    """last_logits=True: a new input logits_index [batch], logits [batch, 1,
    vocab] equal to the full compile's logits at that position, and
    Session.generate (which feeds logits_index) gives llama's generate_0."""
    path = str(WITHPAST / "model.onnx")
    assert WITHPAST.is_dir(), "missing shared decoder %s" % WITHPAST
    full = effc.compile(path, dims=DIMS, host_only=True)
    last = effc.compile(path, dims=DIMS, host_only=True, last_logits=True)
    names = [i.name for i in last.inputs]
    assert "logits_index" in names and "logits_index" not in [i.name for i in full.inputs]
    inputs, _ = load_test_data(WITHPAST)
    batch, seq = inputs["input_ids"].shape
    index = np.array([seq - 1, max(seq - 3, 0)][:batch], dtype=np.int64)
    ref = np.asarray(full.session(device="host").run(inputs)["logits"])
    got = np.asarray(last.session(device="host").run(dict(inputs, logits_index=index))["logits"])
    assert got.shape == (batch, 1, ref.shape[-1])
    for b in range(batch):
        np.testing.assert_allclose(got[b, 0], ref[b, index[b]], rtol=1e-4, atol=1e-5)
    prompt, ref_tokens, ref_logits = [read_tensor(LLAMA / "generate_0" / f)[1]
                                      for f in ("input_0.pb", "output_0.pb", "output_1.pb")]
    tokens, logits = last.session(device="host").generate(prompt, max_new_tokens=16,
                                                          return_logits=True)
    assert tokens == ref_tokens.tolist()
    check_close("logits", np.asarray(logits), ref_logits, 1e-4, 4e-4)


def test_help_documents_the_keywords():
    doc = effc.compile.__doc__
    for p in ["devices_attention", "ring_layout", "expert_parallel", "last_logits"]:
        assert "\n%s:" % p in doc, p
        assert p in doc.split("\n")[0], "signature lacks %s" % p
