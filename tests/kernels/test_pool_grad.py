"""AVERAGE_POOL_2D and MAX_POOL_2D backward (kernels/training/average_pool_grad.cc,
max_pool_grad.cc) against TensorFlow autodiff, ties routed like TF's."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import assert_close, deq, f32, random_quant, resolve_padding, tf
from tests.kernels.training_shim import pool_params


def pool_case(rng):
    n, ch = int(rng.integers(1, 3)), int(rng.integers(1, 5))
    fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    mode = str(rng.choice(["VALID", "SAME"]))
    while True:
        h, w = int(rng.integers(2, 10)), int(rng.integers(2, 10))
        pt, _, ho = resolve_padding(mode, rng, h, fh, sh)
        pl, _, wo = resolve_padding(mode, rng, w, fw, sw)
        if ho >= 1 and wo >= 1:
            break
    return n, h, w, ch, fh, fw, sh, sw, mode, pt, pl, ho, wo


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pool_grad(training, seed, kind):
    rng = np.random.default_rng(4000 + seed)
    n, h, w, ch, fh, fw, sh, sw, mode, pt, pl, ho, wo = pool_case(rng)
    s_x, zp = random_quant(rng)
    # Many ties in max pooling: TF also routes to the first maximum in scan order.
    xq = rng.integers(-128, -118 if kind == "max" else 128, size=(n, h, w, ch)).astype(np.int8)
    g = f32(rng.standard_normal((n, ho, wo, ch)))
    x = tf.constant(deq(xq, s_x, zp))
    with tf.GradientTape() as tape:
        tape.watch(x)
        op = tf.nn.avg_pool2d if kind == "avg" else tf.nn.max_pool2d
        y = op(x, ksize=[fh, fw], strides=[sh, sw], padding=mode)
        assert tuple(y.shape) == g.shape
        loss = tf.reduce_sum(y * g)
    gx = tape.gradient(loss, x).numpy()

    grad_in = np.full(xq.shape, np.nan, np.float32)
    run = training.average_pool_grad if kind == "avg" else training.max_pool_grad
    run(params=pool_params(stride=(sh, sw), padding=(pt, pl), filter=(fh, fw)),
        input_dims=(n, h, w, ch), input=xq if kind == "max" else None,
        output_dims=(n, ho, wo, ch), grad_output=g, grad_input=grad_in)
    assert_close(grad_in, gx)


def test_max_pool_grad_ties_route_to_first_in_scan_order(training):
    xq = np.full((1, 2, 2, 1), 5, np.int8)  # all four equal
    g = f32([[[[3.0]]]])
    grad_in = np.full(xq.shape, np.nan, np.float32)
    training.max_pool_grad(params=pool_params(stride=(2, 2), padding=(0, 0), filter=(2, 2)),
                           input_dims=(1, 2, 2, 1), input=xq, output_dims=(1, 1, 1, 1),
                           grad_output=g, grad_input=grad_in)
    assert grad_in.ravel().tolist() == [3.0, 0.0, 0.0, 0.0]
