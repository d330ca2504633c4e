"""Numeric faults: NaN or infinite inputs, targets and learning rates are refused with a clear
error (Python and the C++ runtime); an all-equal input, saturated activations and a learning
rate so large that every update saturates train finite, bounded and reproducible; empty data
is refused by name. README "Numeric faults" lists which are refused and which are clipped."""
from __future__ import annotations


import numpy as np
import pytest

import tflm_train
from tflm_train.binding import NativeSession, RuntimeFailure

from . import model_factory as mf

from tflm_train.data import DEMO_MODEL as DEMO
SCHEME = tflm_train.SparseUpdate(n_bias=3, weights={-1: 1.0, -2: 0.5})


@pytest.fixture(scope="module")
def extended() -> bytes:
    return tflm_train.convert(DEMO.read_bytes(), SCHEME)


@pytest.fixture(scope="module")
def mse_extended() -> bytes:
    return tflm_train.convert(mf.regression_model(), tflm_train.SparseUpdate(n_bias=2,
                              weights={-1: 1.0}), loss="mse")


def _data(n: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call", ["fit", "predict", "evaluate", "train_step"])
def test_non_finite_inputs_are_refused(extended, bad, call):
    x, y = _data()
    x[3, 5, 7, 0] = bad
    tr = tflm_train.Trainer(extended)
    before = tr.trained_tensors()
    where = "0, 5, 7, 0" if call == "train_step" else "3, 5, 7, 0"  # train_step gets x[3] alone
    with pytest.raises(ValueError, match=rf"inputs contain 1 NaN or infinite values \(first at "
                                         rf"index \({where}\)\)"):
        if call == "fit":
            tr.fit(x, y, progress=False)
        elif call == "predict":
            tr.predict(x)
        elif call == "evaluate":
            tr.evaluate(x, y)
        else:
            tr.train_step(x[3], y[3])
    assert tr.trained_tensors() == before and tr.updates == 0  # nothing half-trained


@pytest.mark.parametrize("rate", [np.nan, np.inf, -1.0, 0.0, "0.1"])
def test_bad_learning_rates_are_refused_by_the_trainer(extended, rate):
    with pytest.raises(ValueError, match="must be a finite positive number"):
        tflm_train.Trainer(extended, learning_rate=rate)


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), -0.5])
def test_bad_learning_rates_are_refused_by_the_runtime(extended, rate):
    """The C API (what firmware calls) checks the rate itself: a NaN step would round to no
    update at all, silently."""
    s = NativeSession(extended)
    with pytest.raises(RuntimeFailure, match="learning rate must be finite and not negative"):
        s.train_step(np.zeros(28 * 28, np.int8), 1, rate)


def test_zero_learning_rate_is_a_valid_no_op_in_the_runtime(extended):
    """A cosine schedule ends at rate 0: the runtime accepts it and changes nothing."""
    s = NativeSession(extended)
    before = {t: s.tensor_bytes(t) for t in s.trained_tensors()}
    loss = s.train_step(np.zeros(28 * 28, np.int8), 1, 0.0)
    assert np.isfinite(loss) and {t: s.tensor_bytes(t) for t in s.trained_tensors()} == before


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_mse_targets_are_refused(mse_extended, bad):
    x = mf.random_inputs(mse_extended, 4, 0)
    targets = np.zeros((4, 3), np.float32)
    targets[2, 1] = bad
    tr = tflm_train.Trainer(mse_extended)
    with pytest.raises(ValueError, match=r"MSE targets contain 1 NaN or infinite values \(first "
                                         r"at index \(2, 1\)\)"):
        tr.fit(x, targets, progress=False)
    s = NativeSession(mse_extended)
    with pytest.raises(RuntimeFailure, match="MSE target 1 is not a finite number"):
        s.train_step(x[0], None, 0.05, target=targets[2])


@pytest.mark.parametrize("call", ["fit", "evaluate"])
@pytest.mark.parametrize("mse", [False, True])
def test_empty_data_is_refused_by_name(extended, mse_extended, call, mse):
    tr = tflm_train.Trainer(mse_extended if mse else extended)
    x = np.zeros((0, *tr.input_shape[1:]), np.float32)
    y = np.zeros((0, 3), np.float32) if mse else np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="no samples"):
        getattr(tr, call)(x, y, **({"progress": False} if call == "fit" else {}))


def test_predict_on_no_samples_gives_no_outputs(extended):
    assert tflm_train.Trainer(extended).predict(np.zeros((0, 28, 28, 1))).shape == (0, 10)


def _train(extended, x, y, rate, seed=0, epochs=2):
    tr = tflm_train.Trainer(extended, learning_rate=rate, seed=seed)
    hist = tr.fit(x, y, epochs=epochs, progress=False)
    return tr, hist


def _bounded_and_reproducible(extended, x, y, rate):
    tr, hist = _train(extended, x, y, rate)
    again, hist2 = _train(extended, x, y, rate)
    assert all(np.isfinite(hist.loss)) and hist.loss == hist2.loss
    assert tr.trained_tensors() == again.trained_tensors()
    assert np.isfinite(tr.predict(x, dequantize=True)).all()
    return tr, hist


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_all_equal_input_trains_finite(extended, value):
    x = np.full((6, 28, 28, 1), value, np.float32)
    _bounded_and_reproducible(extended, x, np.arange(6) % 10, 0.05)


def test_saturated_activations_train_finite(extended):
    """Inputs far beyond the int8 range are clipped to it (every pixel at -128 or 127), so every
    activation downstream sits at its range's ends."""
    x, y = _data(8)
    x = np.where(x > 0.5, 1e6, -1e6).astype(np.float32)
    tr, _ = _bounded_and_reproducible(extended, x, y, 0.05)
    assert set(np.unique(tr.quantize_input(x))) <= {-128, 127}


def test_huge_learning_rate_saturates_every_update(extended):
    """lr = 1e30: a step is beyond the int8/int32 range wherever the gradient is not tiny, so
    most updated values land on their type's limits; nothing wraps, nothing becomes NaN, the
    losses stay finite and two runs give the same bytes."""
    x, y = _data(8)
    tr, _ = _bounded_and_reproducible(extended, x, y, 1e30)
    base = tflm_train.Trainer(extended).trained_tensors()
    moved = at_limit = 0
    for t, data in tr.trained_tensors().items():
        if tr._graph.tensors[t].dtype != "int8":
            continue
        new_v, old_v = np.frombuffer(data, np.int8), np.frombuffer(base[t], np.int8)
        moved += int((new_v != old_v).sum())
        at_limit += int(np.isin(new_v[new_v != old_v], [-128, 127]).sum())
    assert moved > 0 and at_limit > moved // 2, (moved, at_limit)
