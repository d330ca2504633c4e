"""FULLY_CONNECTED backward (kernels/training/fully_connected_grad.cc, bias_grad.cc): gradients
against TensorFlow autodiff, and the products bit-exact in their documented summation order."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import (PRODUCT_SHAPES, assert_close, channel_range, deq, deq_w, f32,
                                   grad_with_zeros, ordered_filter_grad, ordered_input_grad,
                                   rand_q, random_quant, tf)


def _input_grad(training, g, wq, s_w):
    batches, output_depth = g.shape
    grad_in = np.full((batches, wq.shape[1]), np.nan, np.float32)
    training.fully_connected_input_grad(batches=batches, output_depth=output_depth,
                                        grad_output=g, filter=wq, filter_scales=s_w,
                                        input_depth=wq.shape[1], grad_input=grad_in)
    return grad_in


def _filter_grad(training, g, xq, zp, s_x, r0, r1):
    batches, output_depth = g.shape
    grad_w = np.full((r1 - r0, xq.shape[1]), np.nan, np.float32)
    training.fully_connected_filter_grad(batches=batches, input_depth=xq.shape[1], input=xq,
                                         input_offset=-zp, input_scale=s_x,
                                         output_depth=output_depth, grad_output=g, r_begin=r0,
                                         r_end=r1, grad_filter=grad_w)
    return grad_w


@pytest.mark.parametrize("seed", range(8))
def test_fully_connected_grad(training, seed):
    rng = np.random.default_rng(3000 + seed)
    bsz, cin, cout = int(rng.integers(1, 5)), int(rng.integers(1, 70)), int(rng.integers(1, 20))
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (bsz, cin))
    wq = rand_q(rng, (cout, cin))
    s_w = f32(rng.uniform(0.001, 0.05, cout))
    g = f32(rng.standard_normal((bsz, cout)))
    x = tf.constant(deq(xq, s_x, zp))
    w = tf.constant(deq_w(wq, s_w, 0))
    b = tf.constant(np.zeros(cout, np.float32))
    with tf.GradientTape() as tape:
        tape.watch([x, w, b])
        loss = tf.reduce_sum((tf.matmul(x, w, transpose_b=True) + b) * g)
    gx, gw, gb = tape.gradient(loss, [x, w, b])

    assert_close(_input_grad(training, g, wq, s_w), gx.numpy())
    r0, r1 = channel_range(rng, cout)
    assert_close(_filter_grad(training, g, xq, zp, s_x, r0, r1), gw.numpy()[r0:r1])
    grad_b = np.full(r1 - r0, np.nan, np.float32)
    training.bias_grad(positions=bsz, channels=cout, grad_output=g, c_begin=r0, c_end=r1,
                       grad_bias=grad_b)
    assert_close(grad_b, gb.numpy()[r0:r1])


@pytest.mark.parametrize("shape", PRODUCT_SHAPES)
def test_fully_connected_grad_bit_exact(training, shape):
    bsz, cout, cin = shape
    rng = np.random.default_rng(bsz * 7919 + cout * 31 + cin)
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (bsz, cin))
    wq = rand_q(rng, (cout, cin))
    s_w = f32(rng.uniform(0.001, 0.05, cout))
    g = grad_with_zeros(rng, (bsz, cout))
    assert _input_grad(training, g, wq, s_w).tobytes() == ordered_input_grad(g, s_w, wq).tobytes()
    for r0, r1 in [(0, cout), channel_range(rng, cout)]:
        assert (_filter_grad(training, g, xq, zp, s_x, r0, r1).tobytes() ==
                ordered_filter_grad(g, xq, -zp, s_x, r0, r1).tobytes())
