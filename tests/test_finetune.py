"""A short on-device fine-tune of the demo MNIST model on scikit-learn digits (another writer
population, upscaled 8x8 images) raises held-out accuracy, deterministically.

Measured (stratified split seed 0: 500 train / 1297 held out; scheme: last FC + half of conv4's
channels, biases of the last 4 layers; lr 0.01, 3 epochs, stochastic rounding): accuracy
0.619 -> 0.756 (+0.137) with seed 0; seeds 0-3 gave +0.137..+0.199. The test asks for +0.08.
"""
from __future__ import annotations


import numpy as np
import pytest

import tflm_train
from tflm_train.data import DEMO_MODEL, load_sklearn_digits, split

DEMO = DEMO_MODEL
SCHEME = tflm_train.SparseUpdate(n_bias=4, weights={-1: 1.0, -2: 0.5})
MIN_GAIN = 0.08


@pytest.fixture(scope="module")
def data():
    x, y = load_sklearn_digits()
    return split(x, y, 500, seed=0)


@pytest.fixture(scope="module")
def extended():
    return tflm_train.convert(DEMO.read_bytes(), SCHEME)


def _finetune(extended, data, seed, epochs=3, lr=0.01):
    xtr, ytr, xte, yte = data
    tr = tflm_train.Trainer(extended, learning_rate=lr, seed=seed)
    before = tr.evaluate(xte, yte)["accuracy"]
    hist = tr.fit(xtr, ytr, epochs=epochs, progress=False)
    after = tr.evaluate(xte, yte)["accuracy"]
    return tr, before, after, hist


def test_finetune_raises_heldout_accuracy(extended, data):
    tr, before, after, hist = _finetune(extended, data, seed=0)
    assert after - before >= MIN_GAIN, f"accuracy {before:.3f} -> {after:.3f}"
    assert len(hist.loss) == 3 and all(np.isfinite(hist.loss))
    # the exported stock model carries the gain
    exported = tflm_train.Trainer(tflm_train.convert(tr.export(), SCHEME))
    assert exported.evaluate(data[2], data[3])["accuracy"] == after


def test_finetune_deterministic(extended, data):
    xtr, ytr = data[0][:150], data[1][:150]
    runs = []
    for seed in (5, 5, 6):
        tr = tflm_train.Trainer(extended, learning_rate=0.01, seed=seed)
        tr.fit(xtr, ytr, epochs=1, progress=False)
        runs.append(tr.trained_tensors())
    assert runs[0] == runs[1], "same seed gave different trained bytes"
    assert runs[0] != runs[2], "a different seed (shuffle + stochastic rounding) changed nothing"
    original = tflm_train.Trainer(extended).trained_tensors()
    assert runs[0] != original


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_finetune_other_seeds(extended, data, seed):
    _, before, after, _ = _finetune(extended, data, seed=seed)
    assert after - before >= MIN_GAIN, f"seed {seed}: accuracy {before:.3f} -> {after:.3f}"
