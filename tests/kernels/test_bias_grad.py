"""Bias gradients (kernels/training/bias_grad.cc) bit-exact in the documented order; the
autodiff comparisons are in the conv, depthwise and fully-connected gradient tests."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import f32


@pytest.mark.parametrize("positions,channels,c0,c1", [(16, 46, 0, 46), (64, 15, 3, 14),
                                                       (1, 9, 8, 9), (7, 59, 5, 22)])
def test_bias_grad_exact_order(training, positions, channels, c0, c1):
    """One float32 accumulator per channel from 0.0f, positions increasing."""
    rng = np.random.default_rng(positions + channels)
    g = f32(rng.standard_normal((positions, channels)))
    acc = np.zeros(channels, np.float32)
    for p in range(positions):
        acc = (acc + g[p]).astype(np.float32)
    out = np.full(c1 - c0, np.nan, np.float32)
    training.bias_grad(positions=positions, channels=channels, grad_output=g, c_begin=c0,
                       c_end=c1, grad_bias=out)
    assert out.tobytes() == acc[c0:c1].tobytes()
