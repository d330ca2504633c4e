"""Optimizer features of the runtime against references: mini-batch gradient averaging and
momentum against TensorFlow autodiff (same one-step method as test_gradients.py), MSE loss for
regression heads, the learning-rate schedule against its formula, and their memory cost."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import math

import numpy as np
import pytest

import tflm_train
from tflm_train import SGD, LRSchedule, SparseUpdate, Trainer
from tflm_train.binding import RuntimeFailure, learning_rate
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model

from . import model_factory as mf
from .test_gradients import factors, reference_gradients, round_half_away
from tflm_train.data import DEMO_MODEL

DEMO = DEMO_MODEL.read_bytes()
LAST_FC = SparseUpdate(n_bias=0, weights={-1: 1.0})


def _samples(n, seed=0):
    x, y = tflm_train.data.load_sklearn_digits()
    idx = np.random.default_rng(seed).choice(len(x), n, replace=False)
    xq = np.clip(np.round(x[idx] * 255) - 128, -128, 127).astype(np.int8)
    return xq, y[idx].astype(int)


def _fc(graph):
    op = graph.trainable_ops()[-1]
    return op, graph.tensors[op.inputs[1]]


def _expected_step(model, xs, labels, lr, graph):
    """lr * QAS factor * mean of the TF gradients of the FC weights (float32 like the runtime)."""
    op, wt = _fc(graph)
    g = np.mean([reference_gradients(model, x, l)[1][op.index][0] for x, l in zip(xs, labels)],
                axis=0)
    return np.float32(lr) * (factors(wt.scale, wt.shape[0], True)[:, None] * g)


def _check_close(after, expected_real, w0):
    expected = np.clip(w0.astype(np.int64) - round_half_away(expected_real), -128, 127)
    err = np.abs(after.astype(np.int64) - expected)
    assert err.max() <= 2 and np.mean(err == 0) >= 0.95, (err.max(), np.mean(err == 0))


def test_mini_batch_averages_tf_gradients():
    graph = build_graph(read_model(DEMO))
    op, wt = _fc(graph)
    xs, ys = _samples(4)
    unit = _expected_step(DEMO, xs, ys, 1.0, graph)
    lr = 40.0 / np.abs(unit).max()
    tr = Trainer(tflm_train.convert(DEMO, LAST_FC, optimizer=SGD(mini_batch=True)),
                 learning_rate=lr, rounding="nearest")
    for j in range(3):  # the first samples only accumulate: weights must not move
        tr._sample(xs[j], ys[j], batch_size=4, sample_in_batch=j)
        assert tr.trained_tensors()[op.inputs[1]] == wt.data.tobytes()
    tr._sample(xs[3], ys[3], batch_size=4, sample_in_batch=3)
    after = np.frombuffer(tr.trained_tensors()[op.inputs[1]], np.int8).reshape(wt.shape)
    _check_close(after, np.float32(lr) * unit / np.float32(1.0), wt.data)
    assert tr.updates == 1


def test_fit_batches_equal_manual_batches():
    xs, ys = _samples(10, 1)
    ext = tflm_train.convert(DEMO, LAST_FC, optimizer=SGD(mini_batch=True))
    a = Trainer(ext, learning_rate=0.02, rounding="nearest")
    a.fit(xs, ys, epochs=1, batch_size=4, shuffle=False, progress=False)
    b = Trainer(ext, learning_rate=0.02, rounding="nearest")
    for start in range(0, 10, 4):
        batch = range(start, min(start + 4, 10))
        for j, i in enumerate(batch):
            b._sample(xs[i], ys[i], len(batch), j)
    assert a.trained_tensors() == b.trained_tensors() and a.updates == b.updates == 3


def test_momentum_two_steps_against_tf():
    """v1 = g1, w1 = w0 - lr f v1; v2 = mu v1 + g2(w1), w2 = w1 - lr f v2."""
    mu = 0.9
    graph = build_graph(read_model(DEMO))
    op, wt = _fc(graph)
    xs, ys = _samples(2, 2)
    g1 = _expected_step(DEMO, xs[:1], ys[:1], 1.0, graph)
    lr = 30.0 / np.abs(g1).max()
    tr = Trainer(tflm_train.convert(DEMO, LAST_FC, optimizer=SGD(momentum=mu)),
                 learning_rate=lr, rounding="nearest")
    tr.train_step(xs[0], ys[0])
    w1 = np.frombuffer(tr.trained_tensors()[op.inputs[1]], np.int8).reshape(wt.shape)
    _check_close(w1, np.float32(lr) * g1, wt.data)
    g2 = _expected_step(tr.export(), xs[1:], ys[1:], 1.0, graph)  # gradient at w1
    tr.train_step(xs[1], ys[1])
    w2 = np.frombuffer(tr.trained_tensors()[op.inputs[1]], np.int8).reshape(wt.shape)
    _check_close(w2, np.float32(lr) * (np.float32(mu) * g1 + g2), w1)


def test_optimizer_state_costs_four_bytes_per_parameter():
    plain = tflm_train.memory_report(tflm_train.convert(DEMO, LAST_FC))
    mom = tflm_train.memory_report(tflm_train.convert(DEMO, LAST_FC, optimizer=SGD(momentum=0.9)))
    _, wt = _fc(build_graph(read_model(DEMO)))
    cout = wt.shape[0]
    assert plain.optimizer_state_bytes == 0
    expected = (4 * wt.data.size + 15) // 16 * 16 + (4 * cout + 15) // 16 * 16
    assert mom.optimizer_state_bytes == expected
    assert mom.arena_bytes == plain.arena_bytes + expected
    assert "optimizer state" in str(mom)


def test_batches_without_state_are_refused_clearly():
    tr = Trainer(tflm_train.convert(DEMO, LAST_FC))
    xs, ys = _samples(4)
    with pytest.raises(ValueError, match="mini_batch=True"):
        tr.fit(xs, ys, batch_size=2, progress=False)
    with pytest.raises(RuntimeFailure, match="mini_batch=True"):
        tr._session.train_step(xs[0], ys[0], 0.1, "nearest", batch_size=2, sample_in_batch=0)
    with pytest.raises(tflm_train.ConversionError, match="momentum"):
        SGD(momentum=1.5)


# -- learning-rate schedule ----------------------------------------------------------------------

def test_schedule_matches_formula():
    base, warm, total, final = 0.1, 5, 45, 0.1
    for step in range(0, 60):
        if step < warm:
            want = base * (step + 1) / warm
        else:
            t = min(1.0, (step - warm) / (total - warm))
            want = base * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * t)))
        got = learning_rate(base, step, warm, total, final)
        assert abs(got - want) <= 1e-6 * base, (step, got, want)


def test_trainer_follows_schedule():
    xs, ys = _samples(8, 3)
    tr = Trainer(tflm_train.convert(DEMO, LAST_FC, optimizer=SGD(mini_batch=True)),
                 learning_rate=0.05, schedule=LRSchedule(warmup_steps=2, cosine=True))
    assert tr.current_learning_rate() == pytest.approx(0.025)  # warm-up step 0 of 2
    tr.fit(xs, ys, epochs=2, batch_size=4, progress=False)  # 4 updates: the schedule's length
    assert tr.updates == 4
    assert tr.current_learning_rate() == pytest.approx(0.0, abs=1e-7)  # cosine ran to the end


# -- MSE regression head -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regression_model():
    return mf.regression_model()


def test_mse_step_against_tf(regression_model):
    graph = build_graph(read_model(regression_model))
    op, wt = _fc(graph)
    out_t = graph.tensors[graph.outputs[0]]
    xq = mf.random_inputs(regression_model, 1, 0)[0]
    target = np.array([0.5, -1.0, 2.0], np.float32)
    ext = tflm_train.convert(regression_model, LAST_FC, loss="mse")
    tr = Trainer(ext, learning_rate=1.0, rounding="nearest")
    pred = tr.predict(xq[None], dequantize=True)[0].astype(np.float64)
    g_out = 2.0 * (pred - target) / 3.0
    g = reference_gradients(regression_model, xq, 0, output_grad=g_out)[1][op.index][0]
    unit = factors(wt.scale, wt.shape[0], True)[:, None] * g
    lr = 40.0 / np.abs(unit).max()
    tr.learning_rate = lr
    loss = tr.train_step(xq, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2), rel=1e-5)
    after = np.frombuffer(tr.trained_tensors()[op.inputs[1]], np.int8).reshape(wt.shape)
    _check_close(after, np.float32(lr) * unit, wt.data)
    assert set(tr.evaluate(xq[None], target[None])) == {"mse", "loss"}
    assert out_t.shape[-1] == 3


def test_mse_needs_targets_and_regression_head(regression_model):
    tr = Trainer(tflm_train.convert(regression_model, LAST_FC, loss="mse"))
    xq = mf.random_inputs(regression_model, 1, 0)[0]
    with pytest.raises(ValueError, match="MSE targets"):
        tr.train_step(xq, 1)
    with pytest.raises(tflm_train.ConversionError, match="regression head"):
        tflm_train.convert(DEMO, LAST_FC, loss="mse")
    with pytest.raises(tflm_train.ConversionError, match="loss="):
        tflm_train.convert(DEMO, LAST_FC, loss="hinge")
