"""Session.generate (effc::Generator, recompute mode) on the host backend:
../shared/decoders/gpt2 compiled at a [2, 32] window gives HF's greedy tokens
and step logits of generate_0; per-sequence prompt lengths, seeded sampling,
stop tokens, teacher forcing and the errors."""
import numpy as np
import pytest

import effc
from conftest import SHARED, check_close, read_tensor


@pytest.fixture(scope="module")
def decoder():
    d = SHARED / "decoders" / "gpt2"
    assert (d / "model.onnx").is_file(), "missing shared decoder %s" % d
    model = effc.compile(str(d / "model.onnx"), dims={"batch": 2, "seq": 32})
    prompt = read_tensor(d / "generate_0/input_0.pb")[1]
    tokens = read_tensor(d / "generate_0/output_0.pb")[1]
    logits = read_tensor(d / "generate_0/output_1.pb")[1]
    return model.session(device="host"), prompt, tokens, logits


def test_greedy_matches_reference(decoder):
    sess, prompt, ref_tokens, ref_logits = decoder
    tokens, logits = sess.generate(prompt, max_new_tokens=16, return_logits=True)
    assert tokens == ref_tokens.tolist()
    check_close("logits", np.asarray(logits), ref_logits, 1e-4, 4e-4)
    # Lists work too, and teacher forcing with the reference changes nothing.
    forced = sess.generate(prompt.tolist(), max_new_tokens=16, teacher_forcing=ref_tokens)
    assert forced == ref_tokens.tolist()


def test_sequences_of_different_lengths_share_the_batch(decoder):
    sess, prompt, _, _ = decoder
    short = prompt[1, :9].tolist()
    both = sess.generate([prompt[0].tolist(), short], max_new_tokens=6)
    alone = sess.generate([short], max_new_tokens=6)
    assert both[1] == alone[0]
    padded = sess.generate(prompt, max_new_tokens=6, prompt_lengths=[16, 9])
    assert padded == both


def test_sampling_seed_stop(decoder):
    sess, prompt, ref_tokens, _ = decoder
    kw = dict(max_new_tokens=8, temperature=0.9, top_k=40, top_p=0.9)
    a = sess.generate(prompt, seed=3, **kw)
    assert a == sess.generate(prompt, seed=3, **kw)
    assert a != sess.generate(prompt, seed=4, **kw)
    assert sess.generate(prompt, top_k=1, temperature=2.0, max_new_tokens=8) == \
        ref_tokens[:, :8].tolist()
    stop = int(ref_tokens[0, 1])  # 51: sequence 0 stops there, sequence 1 goes on
    assert stop not in ref_tokens[1, :8].tolist()
    out = sess.generate(prompt, max_new_tokens=8, stop=[stop])
    assert out == [ref_tokens[0, :2].tolist(), ref_tokens[1, :8].tolist()]


def test_errors(decoder):
    sess, prompt, _, _ = decoder
    with pytest.raises(RuntimeError, match=r"prompt of 16 tokens \+ max_new_tokens 17 = 33 "
                                           r"tokens exceeds the model's 32 positions"):
        sess.generate(prompt, max_new_tokens=17)
    with pytest.raises(RuntimeError, match=r"top_p must be in \(0, 1\]"):
        sess.generate(prompt, top_p=0.0)
    with pytest.raises(ValueError, match="ids must be rows of integer token ids"):
        sess.generate(prompt.astype(np.float32))
    with pytest.raises(ValueError, match="prompt_lengths"):
        sess.generate(prompt, prompt_lengths=[16])
    bert = SHARED / "models" / "bert-dynamo" / "model.onnx"
    enc = effc.compile(str(bert), shapes={"input_ids": (2, 16)}).session(device="host")
    with pytest.raises(RuntimeError, match="not a causal language model"):
        enc.generate(prompt, max_new_tokens=2)
    assert "max_new_tokens:" in effc.Session.generate.__doc__
