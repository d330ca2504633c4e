"""Smoke test of bench/accuracy in --quick mode (one small task, one seed, fixed lr): the JSON
has the promised structure and int8 + QAS really adapts the model (the un-adapted int8 model
scores ~0.59 on this split and the quick run ~0.82; the test asks for +0.08).
About 9 s of CPU (TensorFlow import and tracing included)."""
from __future__ import annotations

import json

import pytest

from bench.accuracy.cli import main

# ~9 s of CPU but 12-42 s of wall time on a loaded 2-core machine: slow, still run by CI.
pytestmark = pytest.mark.slow

MIN_GAIN = 0.08
METHODS = ["fp32", "int8_qas", "int8_noqas", "int8_last"]


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    out = tmp_path_factory.mktemp("accuracy")
    # the four methods the issue asks for (fp32_last would trace a second TensorFlow model)
    assert main(["--quick", "--out", str(out), "--methods", *METHODS]) == 0
    assert (out / "accuracy.png").stat().st_size > 0
    return json.loads((out / "accuracy.json").read_text())


def test_json_structure(doc):
    assert doc["bench"] == "accuracy" and doc["config"]["quick"] is True
    assert doc["command"].startswith("python -m bench.accuracy --quick")
    assert doc["git_commit"] and doc["date_utc"] and doc["machine"]["cores"] > 0
    assert list(doc["tasks"]) == ["digits"]
    methods = doc["tasks"]["digits"]["methods"]
    assert list(methods) == METHODS
    for name, m in methods.items():
        assert len(m["final"]) == len(m["seeds"]) == 1, name
        assert len(m["curves"][0]) == doc["config"]["epochs"], name
        assert 0.0 <= m["mean"] <= 1.0 and m["lr"] > 0, name
    assert set(doc["summary"]) == set(methods)
    assert "minus_fp32_points" in doc["summary"]["int8_qas"]


def test_int8_qas_adapts(doc):
    m = doc["tasks"]["digits"]["methods"]["int8_qas"]
    before, after = m["before"][0], m["final"][0]
    assert after - before >= MIN_GAIN, f"int8 + QAS: {before:.3f} -> {after:.3f}"
