"""effc.compile(decode_gemv=NAME) (effc --decode-gemv): the named kernel is
the one the artifact's GEMM runs at decode sizes, the model still runs on the
host, and a name effc does not know is effc's error listing the variants."""
import pathlib

import numpy as np
import pytest

import effc

MODEL = str(pathlib.Path(__file__).resolve().parent / "inputs/decode_gemv.mlir")


def decode_calls(model, tmp_path):
    """The decode GEMV calls in the saved artifact's kernel source."""
    path = tmp_path / "m.effc"
    model.save(str(path))
    data = path.read_bytes()
    return data.count(b"tcg_decode_gemv_rows<"), data.count(b"tcg_decode_gemv<")


def test_rows64_is_the_decode_kernel_and_runs_on_host(tmp_path):
    default = effc.compile(MODEL, dtype="bf16")
    rows64 = effc.compile(MODEL, dtype="bf16", decode_gemv="rows64")
    assert decode_calls(default, tmp_path) == (0, 1)
    assert decode_calls(rows64, tmp_path) == (1, 0)
    # Multiples of 1/8 below 8 are exact in bf16; the sums are rounded to
    # bf16 (the compute precision) before the f32 output.
    x = (np.arange(3 * 64, dtype=np.float32).reshape(3, 64) % 61) / 8
    y = np.asarray(rows64.session(device="host").run({"x": x})["y"], dtype=np.float32)
    expected = np.repeat(x.sum(axis=1, keepdims=True) * 0.5, 256, axis=1)
    np.testing.assert_allclose(y, expected, rtol=2**-8)


def test_unknown_name_is_effcs_error():
    with pytest.raises(RuntimeError,
                       match="--decode-gemv must be one of v1, rows, rows16, rows32, rows64, "
                             "rows128, rows256, wide, got 'rows48'"):
        effc.compile(MODEL, dtype="bf16", decode_gemv="rows48")
