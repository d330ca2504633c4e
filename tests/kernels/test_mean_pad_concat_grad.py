"""MEAN, PAD and CONCATENATION backward (kernels/training/mean_grad.cc, pad_grad.cc,
concatenation_grad.cc) equal to TensorFlow autodiff (exact: no sums in a different order)."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

from tests.kernels.helpers import f32, i32, tf


@pytest.mark.parametrize("seed", range(4))
def test_mean_pad_concat_grad(training, seed):
    rng = np.random.default_rng(5000 + seed)
    n, h, w, ch = (int(v) for v in rng.integers(1, 6, 4))
    x = tf.constant(f32(rng.standard_normal((n, h, w, ch))))
    pads = rng.integers(0, 3, size=(4, 2))
    [f32(rng.standard_normal((n, h, w, ch))) for _ in range(2)]  # keeps the cases' random stream
    axis = int(rng.integers(0, 4))
    sizes = [int(rng.integers(1, 4)) for _ in range(3)]
    parts = []
    for s in sizes:
        shape = [n, h, w, ch]
        shape[axis] = s
        parts.append(tf.constant(f32(rng.standard_normal(shape))))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x] + parts)
        y_mean = tf.reduce_mean(x, axis=[1, 2])
        g_mean = f32(rng.standard_normal(y_mean.shape))
        l_mean = tf.reduce_sum(y_mean * g_mean)
        y_pad = tf.pad(x, pads.tolist())
        g_pad = f32(rng.standard_normal(y_pad.shape))
        l_pad = tf.reduce_sum(y_pad * g_pad)
        y_cat = tf.concat(parts, axis=axis)
        g_cat = f32(rng.standard_normal(y_cat.shape))
        l_cat = tf.reduce_sum(y_cat * g_cat)
    in_dims = (n, h, w, ch)

    out = np.full((n, h, w, ch), np.nan, np.float32)
    training.mean_grad(input_dims=in_dims, grad_output=g_mean, grad_input=out)
    np.testing.assert_array_equal(out, tape.gradient(l_mean, x).numpy())

    out = np.full((n, h, w, ch), np.nan, np.float32)
    training.pad_grad(output_dims=tuple(y_pad.shape), grad_output=g_pad,
                      pad_before=i32(pads[:, 0]), input_dims=in_dims, grad_input=out)
    np.testing.assert_array_equal(out, tape.gradient(l_pad, x).numpy())

    outs = [np.full(p.shape, np.nan, np.float32) for p in parts]
    ptrs = (ctypes.c_void_p * 3)(*[o.ctypes.data for o in outs])
    shape = [n, h, w, ch]
    outer, inner = int(np.prod(shape[:axis])), int(np.prod(shape[axis + 1:]))
    training.concatenation_grad(outer=outer, inner=inner, num_inputs=3, axis_sizes=i32(sizes),
                                grad_output=g_cat, grad_inputs=ptrs)
    for o, ref in zip(outs, tape.gradient(l_cat, parts)):
        np.testing.assert_array_equal(o, ref.numpy())


def test_concatenation_grad_skips_null_inputs(training):
    g = f32(np.arange(6).reshape(1, 6))
    a = np.full((1, 2), np.nan, np.float32)
    ptrs = (ctypes.c_void_p * 2)(None, a.ctypes.data)
    training.concatenation_grad(outer=1, inner=1, num_inputs=2, axis_sizes=i32(4, 2),
                                grad_output=g, grad_inputs=ptrs)
    assert a.tolist() == [[4.0, 5.0]]
