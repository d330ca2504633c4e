"""The extended .tflite stays a stock model: it loads and infers identically to the original in
the tflite-micro wheel and in tf.lite.Interpreter(BUILTIN_REF); export() after training gives a
stock model without the training program whose outputs equal Trainer.predict bit for bit, and
export() without training gives back the input's weights unchanged."""
from __future__ import annotations

import numpy as np
import pytest

import tflm_train
import tflm_train.data
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model
from tflm_train.data import DEMO_MODEL

from . import model_factory as mf

DEMO = DEMO_MODEL
SCHEMES = {
    "default": None,
    "all_layers": tflm_train.SparseUpdate(n_bias=5, weights={i: 1.0 for i in range(5)}),
    "partial": tflm_train.SparseUpdate(n_bias=2, weights={-1: 0.5, 1: 0.25}),
}


@pytest.fixture(scope="module")
def digits():
    x, y = tflm_train.data.load_sklearn_digits()
    return x, y


def _quant(x):
    return np.clip(np.round(x * 255) - 128, -128, 127).astype(np.int8)


def _has_tflm_train_metadata(model: bytes) -> bool:
    m = read_model(model)
    names = [(e.name.decode() if isinstance(e.name, bytes) else e.name)
             for e in (m.metadata or [])]
    return "tflm_train" in names or b"tflm_train" in model


def _constants(model: bytes) -> dict[str, bytes]:
    g = build_graph(read_model(model))
    return {t.name: t.data.tobytes() for t in g.tensors if t.is_constant}


@pytest.mark.parametrize("scheme", list(SCHEMES), ids=list(SCHEMES))
def test_extended_demo_infers_like_original(digits, scheme):
    orig = DEMO.read_bytes()
    ext = tflm_train.convert(orig, SCHEMES[scheme])
    assert len(ext) > len(orig) and _has_tflm_train_metadata(ext)
    xq = _quant(digits[0][:50])
    ref = mf.wheel_outputs(orig, xq)
    assert np.array_equal(mf.wheel_outputs(ext, xq), ref)
    assert np.array_equal(mf.tflite_ref_outputs(ext, xq), ref)
    assert np.array_equal(mf.tflite_ref_outputs(orig, xq), ref)


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_extended_random_model_infers_like_original(seed):
    _, orig = mf.random_model(seed)
    ext = tflm_train.convert(orig)
    xq = mf.random_inputs(orig, 10, seed)
    ref = mf.wheel_outputs(orig, xq)
    assert np.array_equal(mf.wheel_outputs(ext, xq), ref)
    assert np.array_equal(mf.tflite_ref_outputs(ext, xq), ref)


def _trained(scheme, digits, steps=20):
    tr = tflm_train.Trainer(tflm_train.convert(DEMO.read_bytes(), scheme), learning_rate=0.05,
                            seed=1)
    x, y = digits
    for i in range(steps):
        tr.train_step(x[i], int(y[i]))
    return tr


@pytest.mark.parametrize("scheme", list(SCHEMES), ids=list(SCHEMES))
def test_export_after_training(digits, scheme):
    tr = _trained(SCHEMES[scheme], digits)
    exported = tr.export()
    assert not _has_tflm_train_metadata(exported)
    assert exported[4:8] == b"TFL3"
    # the weights did change ...
    orig_consts, exp_consts = _constants(DEMO.read_bytes()), _constants(exported)
    assert orig_consts.keys() == exp_consts.keys()
    changed = [k for k in orig_consts if orig_consts[k] != exp_consts[k]]
    assert changed, "20 training steps changed no weight"
    # ... and the exported model, run by the two stock interpreters, equals our runtime
    xq = _quant(digits[0][100:160])
    ours = tr.predict(xq)
    assert np.array_equal(mf.wheel_outputs(exported, xq), ours)
    assert np.array_equal(mf.tflite_ref_outputs(exported, xq), ours)
    # exported == what our runtime holds: the trained tensors' bytes are in the file
    g = build_graph(read_model(exported))
    for t, data in tr.trained_tensors().items():
        assert g.tensors[t].data.tobytes() == data
    # and the exported model converts again (round trip) to the same predictions
    assert np.array_equal(tflm_train.Trainer(tflm_train.convert(exported)).predict(xq), ours)


def test_export_untrained_gives_input_weights():
    orig = DEMO.read_bytes()
    for scheme in SCHEMES.values():
        exported = tflm_train.Trainer(tflm_train.convert(orig, scheme)).export()
        assert not _has_tflm_train_metadata(exported)
        assert _constants(exported) == _constants(orig)
        om, em = read_model(orig), read_model(exported)
        assert [op.opcodeIndex for op in om.subgraphs[0].operators] == \
            [op.opcodeIndex for op in em.subgraphs[0].operators]
        assert len(exported) <= len(orig) + 64 * 16  # no leftover training-program blob
