"""Losses (kernels/training/softmax_cross_entropy.cc, mean_squared_error.cc): softmax
cross-entropy from float logits and int8 logits (with a softmax beta), and MSE from float and int8
predictions, against TensorFlow autodiff or an exact numpy reference."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import deq, f32, rand_q, random_quant, tf


@pytest.mark.parametrize("seed", range(6))
def test_softmax_cross_entropy_from_logits(training, seed):
    rng = np.random.default_rng(7000 + seed)
    classes = int(rng.integers(2, 20))
    spread = [1.0, 10.0, 60.0][seed % 3]
    logits = f32(rng.standard_normal(classes) * spread)
    label = int(rng.integers(0, classes))
    lt = tf.constant(logits[None])
    with tf.GradientTape() as tape:
        tape.watch(lt)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[label], logits=lt)[0]
    ref_g = tape.gradient(loss, lt).numpy()[0]
    grad = np.zeros(classes, np.float32)
    a = training.softmax_cross_entropy_logits(num_classes=classes, logits=logits, label=label,
                                              grad=grad)
    np.testing.assert_allclose(grad, ref_g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.float32(a.loss), loss.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("beta", [1.0, 0.7, 2.5])
def test_softmax_cross_entropy_from_int8_logits(training, seed, beta):
    """A final SOFTMAX's beta scales its logits: the gradient is w.r.t. the unscaled logits."""
    rng = np.random.default_rng(7100 + seed)
    classes = int(rng.integers(2, 20))
    spread = [1.0, 10.0, 60.0][seed % 3]
    label = int(rng.integers(0, classes))
    q = rand_q(rng, classes)
    s, zp = random_quant(rng)
    s = np.float32(s * spread)
    lt = tf.constant(deq(q, s, zp)[None])
    with tf.GradientTape() as tape:
        tape.watch(lt)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[label],
                                                              logits=np.float32(beta) * lt)[0]
    ref_g = tape.gradient(loss, lt).numpy()[0]
    grad = np.zeros(classes, np.float32)
    a = training.softmax_cross_entropy_int8_logits(num_classes=classes, logits=q, scale=s,
                                                   beta=np.float32(beta), label=label, grad=grad)
    np.testing.assert_allclose(grad, ref_g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.float32(a.loss), loss.numpy(), rtol=1e-5, atol=1e-6)


def test_mean_squared_error(training):
    rng = np.random.default_rng(9)
    for size in (1, 3, 17):
        y = f32(rng.standard_normal(size))
        t = f32(rng.standard_normal(size))
        yt = tf.constant(y)
        with tf.GradientTape() as tape:
            tape.watch(yt)
            loss = tf.reduce_mean(tf.square(yt - t))
        ref_g = tape.gradient(loss, yt).numpy()
        grad = np.zeros(size, np.float32)
        a = training.mean_squared_error(size=size, prediction=y, target=t, grad=grad)
        np.testing.assert_allclose(grad, ref_g, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.float32(a.loss), loss.numpy(), rtol=1e-5)
        q = rand_q(rng, size)
        s, zp = random_quant(rng)
        yq = deq(q, s, zp)
        yt = tf.constant(yq)
        with tf.GradientTape() as tape:
            tape.watch(yt)
            loss = tf.reduce_mean(tf.square(yt - t))
        a = training.mean_squared_error_int8(size=size, prediction=q, scale=s, zero_point=zp,
                                             target=t, grad=grad)
        np.testing.assert_allclose(grad, tape.gradient(loss, yt).numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.float32(a.loss), loss.numpy(), rtol=1e-5)
