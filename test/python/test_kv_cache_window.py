"""effc --kv-cache on sliding-window attention with prompts of different
lengths in one Session.generate (effc::Generator's PastStepModel right-pads
the shorter rows in one cache): ../shared/zoo/gemma3-dynamo (two local layers,
window 8). Each row generated in the batch must equal the same prompt
generated alone by the compile without a cache (recompute mode, the model's
own mask), so the window counts token positions, not padded cache slots.
(test/e2e/run_kv_cache_window_ragged.sh checks the serving engine's
--stagger.)"""
import numpy as np
import onnx
import pytest

import effc
from conftest import SHARED


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    d = SHARED / "zoo" / "gemma3-dynamo"
    assert (d / "model.onnx").is_file(), "missing shared model %s" % d
    # KV-cache mode reads an output named 'logits' (the zoo export says 'out').
    m = onnx.load(str(d / "model.onnx"))
    old = m.graph.output[0].name
    for node in m.graph.node:
        node.output[:] = ["logits" if o == old else o for o in node.output]
    m.graph.output[0].name = "logits"
    path = tmp_path_factory.mktemp("gemma3") / "model.onnx"
    onnx.save(m, str(path))
    cached = effc.compile(str(path), kv_cache=True, host_only=True,
                          dims={"batch": 2, "seq": (1, 32), "past": (0, 255),
                                "total": (1, 288)})
    window = effc.compile(str(path), host_only=True, dims={"batch": 2, "seq": 34})
    return cached.session(device="host"), window.session(device="host")


@pytest.mark.parametrize("lengths", [(18, 7), (11, 18), (3, 17)])
def test_rows_of_different_lengths_match_each_prompt_alone(sessions, lengths):
    cached, window = sessions
    ids = np.random.default_rng(7).integers(1, 256, size=(2, 18))
    rows = [ids[b, :n].tolist() for b, n in enumerate(lengths)]
    both = cached.generate(rows, max_new_tokens=16)
    for row, got in zip(rows, both):
        assert got == window.generate([row], max_new_tokens=16)[0], "prompt of %d" % len(row)
    # The same rows as one array with prompt_lengths (right-padded ids).
    assert cached.generate(ids, max_new_tokens=16, prompt_lengths=list(lengths)) == both
