"""Session.generate in KV-cache mode (effc::Generator over a decoder exported
with past, runtime/src/PastStepModel.cpp) on the host backend:
../shared/decoders/llama-withpast has the weights of ../shared/decoders/llama,
so compiled once with bounded seq/past/total it must give llama's generate_0
(HF's greedy tokens and step logits), and sequences of different lengths in
one batch (right-padded, masked) must generate what each does alone and what
recompute mode gives on the model without past."""
import numpy as np
import pytest

import effc
from conftest import SHARED, check_close, read_tensor

DIMS = {"batch": 2, "seq": (1, 8), "past": (0, 63), "total": (1, 71)}


@pytest.fixture(scope="module")
def decoders():
    withpast = SHARED / "decoders" / "llama-withpast" / "model.onnx"
    plain = SHARED / "decoders" / "llama"
    assert withpast.is_file(), "missing shared decoder %s" % withpast
    cache = effc.compile(str(withpast), dims=DIMS, host_only=True).session(device="host")
    window = effc.compile(str(plain / "model.onnx"), dims={"batch": 2, "seq": 32})
    ref = [read_tensor(plain / "generate_0" / f)[1]
           for f in ("input_0.pb", "output_0.pb", "output_1.pb")]
    return cache, window.session(device="host"), ref


def test_reference_with_chunked_prefill(decoders):
    # seq <= 8: the 16-token prompts prefill in two chunks.
    cache, _, (prompt, ref_tokens, ref_logits) = decoders
    tokens, logits = cache.generate(prompt, max_new_tokens=16, return_logits=True)
    assert tokens == ref_tokens.tolist()
    check_close("logits", np.asarray(logits), ref_logits, 1e-4, 4e-4)


def test_sequences_of_different_lengths(decoders):
    cache, window, (prompt, _, _) = decoders
    prompts = [prompt[0, :5].tolist(), prompt[1, :13].tolist()]
    both, both_logits = cache.generate(prompts, max_new_tokens=10, return_logits=True)
    for b, p in enumerate(prompts):
        assert cache.generate([p], max_new_tokens=10) == [both[b]]
    recompute, recompute_logits = window.generate(prompts, max_new_tokens=10,
                                                  return_logits=True)
    assert both == recompute
    check_close("logits", np.asarray(both_logits), np.asarray(recompute_logits), 1e-4, 4e-4)
    # A stopped sequence no longer moves; the other goes on unchanged.
    stop = both[0][2]
    out = cache.generate(prompts, max_new_tokens=10, stop=[stop])
    assert out[0] == both[0][:both[0].index(stop) + 1] and out[1] == both[1]


def test_cache_bound_is_a_clear_error(decoders):
    cache, _, (prompt, _, _) = decoders
    with pytest.raises(RuntimeError, match=r"prompt of 16 tokens \+ max_new_tokens 49 = 65 "
                                           r"tokens exceeds the model's 64 positions "
                                           r"\(the KV cache holds past <= 63 tokens: compiled with --dim past=0..63"):
        cache.generate(prompt, max_new_tokens=49)
    assert len(cache.generate(prompt, max_new_tokens=48)[0]) == 48


def test_kv_cache_keyword_gives_a_plain_decoder_a_cache(decoders):
    # kv_cache=True (effc --kv-cache) turns ../shared/decoders/llama (no past)
    # into the with-past interface; its generation must be HF's generate_0.
    _, _, (prompt, ref_tokens, ref_logits) = decoders
    plain = SHARED / "decoders" / "llama" / "model.onnx"
    model = effc.compile(str(plain), dims=DIMS, kv_cache=True, host_only=True)
    names = [i.name for i in model.inputs]
    assert "past_key_values.0.key" in names and "attention_mask" in names, names
    tokens, logits = model.session(device="host").generate(prompt, max_new_tokens=16,
                                                           return_logits=True)
    assert tokens == ref_tokens.tolist()
    check_close("logits", np.asarray(logits), ref_logits, 1e-4, 4e-4)


def test_split_and_paged_keywords_reach_the_compiler():
    withpast = str(SHARED / "decoders" / "llama-withpast" / "model.onnx")
    with pytest.raises(ValueError, match="split_kv_splits must be >= 0"):
        effc.compile(withpast, dims=DIMS, split_kv_splits=-1)
    with pytest.raises(ValueError, match="paged_kv must be >= 0"):
        effc.compile(withpast, dims=DIMS, paged_kv=-4)
    paged = effc.compile(withpast, dims=DIMS, paged_kv=4, host_only=True)
    names = [i.name for i in paged.inputs]
    assert "block_table" in names and "kv_pages.0.key" in names, names


def test_kv_state_keyword_keeps_the_cache_in_the_session(decoders):
    # kv_state=True (effc --kv-state): the cache is session state, so
    # past_key_values.* / present.* are neither inputs nor outputs, and the
    # generation is still HF's generate_0 (twice: a new generation resets it).
    _, _, (prompt, ref_tokens, ref_logits) = decoders
    withpast = str(SHARED / "decoders" / "llama-withpast" / "model.onnx")
    model = effc.compile(withpast, dims=DIMS, kv_state=True, host_only=True)
    assert [i.name for i in model.inputs] == ["input_ids", "attention_mask", "position_ids"]
    assert [o.name for o in model.outputs] == ["logits"]
    session = model.session(device="host")
    for _ in range(2):
        tokens, logits = session.generate(prompt, max_new_tokens=16, return_logits=True)
        assert tokens == ref_tokens.tolist()
        check_close("logits", np.asarray(logits), ref_logits, 1e-4, 4e-4)
