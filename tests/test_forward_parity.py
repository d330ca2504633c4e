"""Forward parity: Trainer.predict (our C++ runtime) equals the tflite-micro wheel (TFLM
reference kernels) bit for bit, on the demo model with real digit images and on random models
over every supported op/option (conv kernel/stride/padding/dilation, depthwise multipliers,
average pool, MEAN, RESHAPE + FC, fused NONE/RELU/RELU6/RELU_N1_TO_1, softmax or logits)."""
from __future__ import annotations


import numpy as np
import pytest

import tflm_train
import tflm_train.data
from tflm_train.data import DEMO_MODEL

from . import model_factory as mf

DEMO = DEMO_MODEL


def _parity(model: bytes, xq: np.ndarray, scheme=None):
    ext = tflm_train.convert(model, scheme)
    ours = tflm_train.Trainer(ext).predict(xq)
    ref = mf.wheel_outputs(model, xq)
    mismatch = np.flatnonzero((ours.reshape(len(xq), -1) != ref).any(axis=1))
    assert mismatch.size == 0, (
        f"{mismatch.size}/{len(xq)} samples differ, first {mismatch[0]}: ours "
        f"{ours[mismatch[0]].tolist()} wheel {ref[mismatch[0]].tolist()}")
    return ours


def test_demo_model_digits():
    x, _ = tflm_train.data.load_sklearn_digits()
    tr = tflm_train.Trainer(tflm_train.convert(DEMO.read_bytes()))
    xq = tr.quantize_input(x[:200])
    out = _parity(DEMO.read_bytes(), xq)
    assert np.unique(out).size > 20  # real, varied outputs, not a constant


def test_demo_model_random_inputs():
    _parity(DEMO.read_bytes(), mf.random_inputs(DEMO.read_bytes(), 20, seed=3))


def test_demo_model_every_layer_trainable():
    """The plan with every layer trained (weights in the arena, not flash) infers the same."""
    scheme = tflm_train.SparseUpdate(n_bias=5, weights={i: 1.0 for i in range(5)})
    _parity(DEMO.read_bytes(), mf.random_inputs(DEMO.read_bytes(), 10, seed=4), scheme)


def _random_parity(seed: int, n: int = 20):
    spec, model = mf.random_model(seed)
    try:
        _parity(model, mf.random_inputs(model, n, seed))
    except AssertionError as e:
        raise AssertionError(f"seed {seed}, ops {mf.op_names(model)}, spec {spec}: {e}") from e


@pytest.mark.parametrize("seed", range(10))
def test_random_models(seed):
    _random_parity(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 1060))
def test_random_models_slow(seed):
    _random_parity(seed, n=30)


def test_random_models_cover_the_op_set():
    """The fast seeds above together exercise every supported op and activation."""
    ops, acts = set(), set()
    for seed in range(10):
        spec, model = mf.random_model(seed)
        ops.update(mf.op_names(model))
        acts.update(l.get("activation", "none") for l in spec["layers"] if "activation" in l)
    assert ops >= {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "RESHAPE",
                   "AVERAGE_POOL_2D", "MEAN", "SOFTMAX"}, ops
    assert acts >= {"none", "relu", "relu6", "relu_n1_to_1"}, acts
