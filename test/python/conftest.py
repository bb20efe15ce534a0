"""Shared fixtures of the effc Python tests (tools/python; run by ctest `python`).

The shared models are read from $EFFC_SHARED_DIR (default: ../shared beside the
repository); a missing directory or model fails the test that needs it.
"""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("EFFC_SHARED_DIR", REPO.parent / "shared"))


def read_tensor(path):
    import onnx
    import onnx.numpy_helper

    t = onnx.TensorProto()
    t.ParseFromString(pathlib.Path(path).read_bytes())
    return t.name, onnx.numpy_helper.to_array(t)


def load_test_data(model_dir):
    """(inputs {name: array}, reference outputs [array]) of test_data_set_0."""
    data = pathlib.Path(model_dir) / "test_data_set_0"
    inputs = dict(read_tensor(p) for p in sorted(data.glob("input_*.pb")))
    outputs = [read_tensor(p)[1] for p in sorted(data.glob("output_*.pb"))]
    assert inputs and outputs, "no input_*.pb/output_*.pb in %s" % data
    return inputs, outputs


def model_dir(name):
    d = SHARED / "models" / name
    assert (d / "model.onnx").is_file(), "missing shared model %s (EFFC_SHARED_DIR=%s)" % (d, SHARED)
    return d


def tolerance(model, dtype):
    """(rtol, row_rtol) of test/e2e/tolerances.txt; fp32: effc-run's defaults."""
    if dtype == "fp32":
        return 1e-4, 4e-4
    for line in (REPO / "test/e2e/tolerances.txt").read_text().splitlines():
        fields = line.split("#")[0].split()
        if len(fields) == 4 and fields[0] == model and fields[1] == dtype:
            return float(fields[2]), float(fields[3])
    raise AssertionError("test/e2e/tolerances.txt has no line for %s %s" % (model, dtype))


def check_close(name, got, ref, rtol, row_rtol):
    """effc-run --test-data's checks: max_rel_err, per-row error, argmax of rows."""
    import numpy as np

    assert got.shape == ref.shape, "%s: shape %s, reference %s" % (name, got.shape, ref.shape)
    got = got.astype(np.float64)
    ref = ref.astype(np.float64)
    scale = max(np.abs(ref).max(), 1e-30)
    max_rel = np.abs(got - ref).max() / scale
    assert max_rel <= rtol, "%s: max_rel_err=%g > rtol %g" % (name, max_rel, rtol)
    if ref.ndim >= 1 and ref.shape[-1] >= 2:
        rows_ref = ref.reshape(-1, ref.shape[-1])
        rows_got = got.reshape(-1, ref.shape[-1])
        row_scale = np.maximum(np.abs(rows_ref).max(axis=1), 1e-30)
        row_err = (np.abs(rows_got - rows_ref).max(axis=1) / row_scale).max()
        assert row_err <= row_rtol, "%s: row_rel_err=%g > %g" % (name, row_err, row_rtol)
        top2 = np.sort(rows_ref, axis=1)[:, -2:]
        decided = (top2[:, 1] - top2[:, 0]) / row_scale > rtol
        same = rows_got.argmax(axis=1) == rows_ref.argmax(axis=1)
        assert same[decided].all(), "%s: argmax differs in %d rows" % (name, (~same[decided]).sum())


@pytest.fixture(scope="session")
def gpt2():
    """gpt2-dynamo compiled once (fp32, shapes of its test data) and its test data."""
    import effc

    d = model_dir("gpt2-dynamo")
    inputs, outputs = load_test_data(d)
    model = effc.compile(str(d / "model.onnx"), shapes={k: v.shape for k, v in inputs.items()})
    return model, inputs, outputs


_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """A skip is a failure here: every test runs on the host backend."""
    if _skipped:
        print("\nrun_pytest: skipped tests fail the suite: %s" % ", ".join(_skipped))
        session.exitstatus = 1
