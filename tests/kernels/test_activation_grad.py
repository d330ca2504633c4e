"""ReLU / ReLU6 backward from the saved int8 output (kernels/training/activation_grad.cc) equal
to TensorFlow autodiff at and around the kinks, and from a channel group of a bit mask."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import f32, tf


@pytest.mark.parametrize("act", ["relu", "relu6"])
def test_activation_grad(training, act):
    rng = np.random.default_rng(6)
    if act == "relu":
        scale, zp = np.float32(0.05), -20
        lo, hi = zp, 128  # RELU: act_min = quantised 0, no upper clamp
        k = rng.integers(-60, 148, 2000)
        k[:10] = 0  # exactly at the kink
    else:
        scale, zp = np.float32(6.0 / 255.0), -128
        lo, hi = -128, 127  # RELU6: act_min = q(0), act_max = q(6)
        k = rng.integers(-40, 300, 2000)
        k[:10] = 0
        k[10:20] = 255
    z = (k.astype(np.float32) * scale).astype(np.float32)  # pre-activation on the int8 grid
    q = np.clip(k + zp, lo, min(hi, 127)).astype(np.int8)  # saved fused-activation output
    g = f32(rng.standard_normal(k.shape))
    zt = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        y = tf.nn.relu(zt) if act == "relu" else tf.nn.relu6(zt)
        loss = tf.reduce_sum(y * g)
    ref = tape.gradient(loss, zt).numpy()
    out = np.full(k.shape, np.nan, np.float32)
    training.activation_grad(size=k.size, output=q, range=(lo, hi), grad_output=g,
                             grad_input=out)
    np.testing.assert_array_equal(out, ref)
    training.activation_grad(size=k.size, output=q, range=(lo, hi), grad_output=g,
                             grad_input=g)  # in place
    np.testing.assert_array_equal(g, ref)


@pytest.mark.parametrize("positions,channels,c0,g", [(5, 13, 0, 13), (7, 46, 9, 29),
                                                       (3, 59, 58, 1), (4, 100, 30, 40),
                                                       (9, 6, 2, 3)])
def test_activation_grad_from_mask_group(training, positions, channels, c0, g):
    rng = np.random.default_rng(positions * 100 + channels)
    bits = rng.random(positions * channels) < 0.5
    mask = np.packbits(bits, bitorder="little")
    grad = f32(rng.standard_normal((positions, g)))
    expect = np.where(bits.reshape(positions, channels)[:, c0:c0 + g], grad, np.float32(0.0))
    training.activation_grad_from_mask_group(positions=positions, channels=channels, c_begin=c0,
                                             group=g, mask=mask, grad=grad)
    assert grad.tobytes() == f32(expect).tobytes()
