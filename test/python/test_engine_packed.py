"""effc.Engine (effc::Engine, issue 19) over paged compiles of
../shared/decoders/llama-withpast on the host backend: compile(paged_kv=4,
packed_tokens=True) (effc --paged-kv=4 --packed-tokens: one run packs every
request's new tokens back to back) must serve exactly what the unpacked
paged compile (batch 2, rows padded to a run's longest feed) serves, and
generate_0's prompts must give its reference tokens (HF greedy) in both;
the packed runs compute no padding. packed_tokens without paged_kv is
effc's clear error."""
import pytest

import effc
from conftest import SHARED, read_tensor

WITHPAST = SHARED / "decoders" / "llama-withpast" / "model.onnx"
REF = SHARED / "decoders" / "llama" / "generate_0"
PAGE = 4
# past + seq <= 80 positions: 20 pages of 4 per sequence.
PAST, TOTAL = (0, 63), (1, 79)


@pytest.fixture(scope="module")
def reference():
    assert WITHPAST.is_file(), "missing shared decoder %s" % WITHPAST
    prompt, tokens = (read_tensor(REF / f)[1] for f in ("input_0.pb", "output_0.pb"))
    return prompt.tolist(), tokens.tolist()


@pytest.fixture(scope="module")
def sessions():
    unpacked = effc.compile(str(WITHPAST), dims={"batch": 2, "seq": (1, 16), "past": PAST,
                                                 "total": TOTAL},
                            paged_kv=PAGE, host_only=True)
    # batch 1: the packed tokens are input_ids' seq; a pool of 4 sequences.
    packed = effc.compile(str(WITHPAST), dims={"batch": 1, "seq": (1, 16), "past": PAST,
                                               "total": TOTAL},
                          paged_kv=PAGE, paged_kv_pages=80, packed_tokens=True, host_only=True)
    names = [i.name for i in packed.inputs]
    assert "token_seq" in names and "token_seq_lens" in names, names
    assert "token_seq" not in [i.name for i in unpacked.inputs]
    return unpacked.session(device="host"), packed.session(device="host")


def serve(session, prompts, max_new_tokens, stagger, **engine_options):
    """Submits prompts[i] at step i * stagger, steps until all finished;
    (tokens per request, stats)."""
    engine = effc.Engine(session, kv_page_size=PAGE, **engine_options)
    assert engine.mode == "kv-cache"
    ids, tokens, done, step = {}, [[] for _ in prompts], set(), 0
    while len(done) < len(prompts):
        for i, p in enumerate(prompts):
            if i not in ids and i * stagger <= step:
                ids[i] = engine.submit(p, max_new_tokens=max_new_tokens)
        engine.step()
        step += 1
        for i, rid in ids.items():
            if i in done:
                continue  # a finished request is forgotten once polled
            new, finish = engine.poll(rid)
            tokens[i] += new
            if finish != "running":
                assert finish == "length", finish
                done.add(i)
        assert step < 200, "the engine did not finish"
    assert not engine.has_work
    return tokens, engine.stats()


def test_packed_serves_the_reference_tokens(sessions, reference):
    unpacked, packed = sessions
    prompts, ref_tokens = reference
    for session in (unpacked, packed):
        got, stats = serve(session, prompts, len(ref_tokens[0]), stagger=2)
        assert got == ref_tokens
        assert stats["finished"] == 2 and stats["generated_tokens"] == 2 * len(ref_tokens[0])
    assert stats["run_padded"] == 0 and stats["runs"] > 0, stats


def test_packed_equals_unpacked_on_ragged_requests(sessions, reference):
    # Four requests of different lengths, two sharing a prefix, arriving
    # every step: the same tokens from both compiles; no padding packed,
    # padding unpacked (its rows pad to a run's longest feed).
    unpacked, packed = sessions
    (a, b), _ = reference
    prompts = [a[:5], b[:13], a, a[:9] + [7, 11]]
    want, unpacked_stats = serve(unpacked, prompts, 10, stagger=1)
    got, packed_stats = serve(packed, prompts, 10, stagger=1, max_sequences=4)
    assert got == want
    assert packed_stats["run_padded"] == 0, packed_stats
    assert unpacked_stats["run_padded"] > 0, unpacked_stats
    assert packed_stats["pages_shared_total"] > 0, packed_stats


def test_engine_errors_name_the_problem(sessions):
    _, packed = sessions
    with pytest.raises(RuntimeError, match=r"compiled with --paged-kv=4"):
        effc.Engine(packed, kv_page_size=16)
    with pytest.raises(ValueError, match="speculate needs a draft"):
        effc.Engine(packed, kv_page_size=PAGE, speculate=2)
    engine = effc.Engine(packed, kv_page_size=PAGE)
    with pytest.raises(ValueError, match="prompt must be a list"):
        engine.submit("1 2 3")
    with pytest.raises(RuntimeError):
        engine.submit([1, 2], max_new_tokens=0)


def test_packed_tokens_needs_paged_kv():
    with pytest.raises(RuntimeError, match=r"--packed-tokens needs --paged-kv=N"):
        effc.compile(str(WITHPAST), dims={"batch": 1, "seq": (1, 16), "past": PAST,
                                          "total": TOTAL}, packed_tokens=True)
