"""Smoke test of bench/transfer in --quick mode (small splits, one seed, one epoch, fixed lr):
the JSON has the provenance, tasks, methods and seeds the README's table is read from, every
method of a seed starts from the same fresh head, and the inputs are the backbone's."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench.accuracy.runs import Optim
from bench.transfer import runs
from bench.transfer.cli import choose, main
from bench.transfer.methods import Rate, methods
from bench.transfer.tasks import BACKBONE, backbone, input_quantization, quantize, resize, tasks
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model

pytestmark = pytest.mark.skipif(not BACKBONE.is_file(), reason=f"{BACKBONE} not present")

METHODS = ["int8_qas", "fp32", "int8_noqas", "int8_noqas_fp32lr", "int8_last"]


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    out = tmp_path_factory.mktemp("transfer")
    assert main(["--quick", "--out", str(out)]) == 0
    assert (out / "transfer.png").stat().st_size > 0
    return json.loads((out / "transfer.json").read_text())


def test_json_has_provenance_tasks_methods_and_seeds(doc):
    assert doc["bench"] == "transfer"
    assert doc["command"] == "python -m bench.transfer --quick --out " + doc["command"].split()[-1]
    assert doc["git_commit"] and doc["date_utc"].endswith("Z") and doc["machine"]["cores"] > 0
    c = doc["config"]
    assert c["quick"] is True and c["seeds"] == [0] and c["base_model"] == "person_detect.tflite"
    assert {t: r["classes"] for t, r in doc["tasks"].items()} == {"fashion10": 10, "parity2": 2}
    for t, r in doc["tasks"].items():
        assert list(r["methods"]) == METHODS, t
        for name, m in r["methods"].items():
            assert m["seeds"] == [0] and len(m["final"]) == 1, (t, name)
            assert len(m["curves"][0]) == c["epochs"], (t, name)
            assert 0.0 <= m["mean"] <= 1.0 and m["lr"] > 0 and m["spread"] == 0.0, (t, name)
        for key in ("lr", "head_lr"):
            assert r["methods"]["int8_noqas_fp32lr"][key] == r["methods"]["fp32"][key]
        assert r["methods"]["int8_noqas"]["scheme"]["qas"] is False
    assert "minus_fp32_points" in doc["summary"]["int8_qas"]
    assert "int8_qas_within_0.5_points_of_fp32" in doc["goals"]


def _head(model: bytes) -> list[bytes]:
    g = build_graph(read_model(model))
    head = g.trainable_ops()[-1]
    return [g.tensors[t].data.tobytes() for t in head.inputs[1:3]]


def test_every_method_starts_from_the_same_head(doc):
    """The quick run converted each scheme once per (task, seed): the fresh head depends on the
    seed only, so the compared methods (and the fp32 twin, which copies the int8 + QAS model)
    start from the same classifier."""
    base, all_methods = backbone(), methods()
    heads = {name: _head(runs.extended(base, all_methods[name], 10, 0, Optim()))
             for name in ("int8_qas", "int8_noqas", "int8_last")}
    assert heads["int8_qas"] == heads["int8_noqas"] == heads["int8_last"]
    assert heads["int8_qas"] != _head(runs.extended(base, all_methods["int8_qas"], 10, 1, Optim()))


def test_inputs_are_the_backbones():
    scale, zero_point = input_quantization(backbone())
    assert (scale, zero_point) == (pytest.approx(1 / 127.5), -1)
    x = np.zeros((2, 28, 28, 1), np.float32)
    x[1] = 1.0
    q = quantize(x, scale, zero_point)
    assert q.shape == (2, 96, 96, 1) and q.dtype == np.int8
    assert (q[0] == -128).all() and (q[1] == 126).all()  # real -1 and +1
    ramp = np.tile(np.linspace(0, 1, 28), (28, 1)).reshape(1, 28, 28, 1)
    r = resize(ramp)
    assert np.all(np.diff(r[0, 0, :, 0]) >= 0) and r.min() == 0.0 and r.max() == 1.0
    t = tasks(quick=True)["parity2"]
    loaded = t.task.load()
    d0, d1 = (t.data(s, loaded, (scale, zero_point)) for s in (0, 1))
    assert set(np.unique(d0.split.y_train)) == {0, 1}
    # the test samples are the same for every seed, the adaptation samples are not
    assert np.array_equal(d0.split.x_test, d1.split.x_test)
    assert not np.array_equal(d0.split.x_train, d1.split.x_train)


def test_rates_are_chosen_on_the_mean_over_seeds_ties_to_the_slower():
    slow, fast, faster = Rate(0.03, 1.0), Rate(0.1, 1.0), Rate(0.1, 3.0)
    # seed 0 alone would pick `fast` (session 6's rule); the mean over seeds picks `slow`
    val = {slow: [0.69, 0.70, 0.77], fast: [0.70, 0.66, 0.51], faster: [0.60, 0.60, 0.60]}
    assert choose([slow, fast, faster], val) == slow
    tie = {slow: [0.5, 0.7], fast: [0.6, 0.6], faster: [0.7, 0.5]}
    assert choose([faster, fast, slow], tie) == slow
    assert choose([fast, faster], {fast: [0.6], faster: [0.6]}) == fast
    assert choose([faster], {}) == faster
