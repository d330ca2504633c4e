"""The training kernels' own Exp / Log / Floor (kernels/training/float_math.cc, no libm): Exp and
Log within 1 ulp of float64 numpy over wide ranges, special values, Floor exact."""
from __future__ import annotations

import numpy as np

from tests.kernels.helpers import f32


def ulp_error(actual, reference64):
    with np.errstate(over="ignore"):
        ref32 = reference64.astype(np.float32)
    finite = np.isfinite(ref32)
    spacing = np.spacing(np.abs(ref32[finite])).astype(np.float64)
    err = np.abs(actual[finite].astype(np.float64) - reference64[finite]) / spacing
    return err, finite


def _apply(fn, x):
    y = np.empty_like(x)
    fn(size=x.size, x=x, y=y)
    return y


def test_exp_accuracy(training):
    rng = np.random.default_rng(10)
    x = np.concatenate([
        np.linspace(-105.0, 90.0, 1_000_001, dtype=np.float32),
        f32(rng.uniform(-1, 1, 200_000)),
        f32(rng.uniform(-1e-6, 1e-6, 10_000)),
        f32([0.0, -0.0, 88.72283, 88.722839, -103.97, -87.33654, -87.3365, 1e-45, -1e-45]),
    ])
    y = _apply(training.exp, x)
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64))
    err, finite = ulp_error(y, ref)
    assert err.max() <= 1.0, f"max exp error {err.max():.3f} ulp at x={x[finite][err.argmax()]!r}"
    assert np.all(np.isinf(y[~finite])) and np.all(y[~finite] > 0)
    assert y[x.size - 9] == 1.0 and y[x.size - 8] == 1.0
    out = _apply(training.exp, f32([np.inf, -np.inf, np.nan, 1000.0, -1000.0]))
    assert out[0] == np.inf and out[1] == 0.0 and np.isnan(out[2])
    assert out[3] == np.inf and out[4] == 0.0


def test_log_accuracy(training):
    rng = np.random.default_rng(11)
    bits = rng.integers(1, 0x7F800000, 1_000_000, dtype=np.uint32)  # all positive finite floats
    x = np.concatenate([
        bits.view(np.float32),
        f32(rng.uniform(0.5, 2.0, 200_000)),
        f32(1.0 + rng.uniform(-1e-5, 1e-5, 10_000)),
        f32([1.0, np.float32(1.0) + np.spacing(np.float32(1.0)),
             np.float32(1.0) - np.float32(2**-24), 1e-45, 1.17549435e-38, 3.4028235e38,
             np.sqrt(2.0), np.sqrt(0.5)]),
    ])
    y = _apply(training.log, x)
    ref = np.log(x.astype(np.float64))
    err, _ = ulp_error(y, ref)
    assert err.max() <= 1.0, f"max log error {err.max():.3f} ulp at x={x[err.argmax()]!r}"
    assert y[x.size - 8] == 0.0
    out = _apply(training.log, f32([0.0, -0.0, -1.0, np.inf, np.nan]))
    assert out[0] == -np.inf and out[1] == -np.inf and np.isnan(out[2])
    assert out[3] == np.inf and np.isnan(out[4])


def test_floor(training):
    x = f32([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 8388607.5, -8388607.5, 8388608.0,
             1e20, -1e20, 1e-30, -1e-30, 123.999, -123.999])
    np.testing.assert_array_equal(_apply(training.floor, x), np.floor(x))
