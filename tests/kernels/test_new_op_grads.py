"""Backward kernels of the issue-12 ops (kernels/training/{hard_swish,logistic,leaky_relu,
transpose,mul,sub}_grad.cc) against TensorFlow autodiff on the dequantised values, over all
256 int8 inputs: HARD_SWISH exactly at its breakpoints -3 and 3, LOGISTIC far into saturation,
LEAKY_RELU at 0, and MUL / SUB gradients reduced over every broadcast pattern of the
squeeze-excite and bias cases."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import ATOL_REL, RTOL, f32, i32, tf

ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def _deq(q, scale, zp):
    return f32(np.float32(scale) * (q.astype(np.float32) - np.float32(zp)))


def _tf_grad(fn, x, g):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = fn(xt)
    return tape.gradient(y, xt, output_gradients=tf.constant(g)).numpy()


def _unary(training, entry, q, scale, zp, g, alpha=0.0):
    out = np.full(q.shape, np.nan, np.float32)
    getattr(training, entry)(size=q.size, input=q, scale=np.float32(scale), zero_point=zp,
                             alpha=np.float32(alpha), grad_output=g, grad_input=out)
    return out


@pytest.mark.parametrize("scale,zp", [(3.0 / 64.0, 0), (3.0 / 64.0, -20), (0.1, 5),
                                      (0.75, -1), (1.5, 0), (0.002, 3)])
def test_hard_swish_grad(training, scale, zp):
    g = f32(np.random.default_rng(1).standard_normal(256))
    x = _deq(ALL_INT8, scale, zp)
    ref = _tf_grad(lambda t: t * tf.nn.relu6(t + 3.0) / 6.0, x, g)
    out = _unary(training, "hard_swish_grad", ALL_INT8, scale, zp, g)
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL_REL * np.abs(ref).max())
    # At the breakpoints the derivative is the outer side's (relu6 passes nothing at 0 or 6).
    for point, slope in ((-3.0, 0.0), (3.0, 1.0)):
        at = np.nonzero(x == point)[0]
        if scale == 3.0 / 64.0:
            assert at.size == 1, (point, x.min(), x.max())
        for i in at:  # (TF's own value rounds g / 6 * 6 at 3)
            assert out[i] == np.float32(g[i] * slope), (point, out[i], ref[i])
            assert abs(out[i] - ref[i]) <= 1e-6 * abs(g[i]), (point, out[i], ref[i])


@pytest.mark.parametrize("scale,zp", [(1.0 / 16.0, 0), (0.1, -128), (0.25, 30), (1.0, 0),
                                      (4.0, 0)])
def test_logistic_grad(training, scale, zp):
    """Saturated inputs (|x| up to 512) keep a tiny or zero derivative, never NaN."""
    g = f32(np.random.default_rng(2).standard_normal(256))
    x = _deq(ALL_INT8, scale, zp)
    ref = _tf_grad(tf.math.sigmoid, x, g)
    out = _unary(training, "logistic_grad", ALL_INT8, scale, zp, g)
    assert np.all(np.isfinite(out))
    # float32 s * (1 - s) loses relative accuracy where s is near 1 (1 - s is a difference of
    # nearly equal numbers); TF's sigmoid gradient does the same, with its own exp.
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6 * np.abs(g).max())
    if abs(scale * 128) > 100:
        far = np.abs(x) > 100
        assert np.all(out[far] == 0.0), out[far]


@pytest.mark.parametrize("alpha,zp", [(0.2, 0), (0.1, -17), (0.01, 127), (1.5, -128)])
def test_leaky_relu_grad(training, alpha, zp):
    g = f32(np.random.default_rng(3).standard_normal(256))
    x = _deq(ALL_INT8, 0.05, zp)
    ref = _tf_grad(lambda t: tf.nn.leaky_relu(t, alpha=float(np.float32(alpha))), x, g)
    out = _unary(training, "leaky_relu_grad", ALL_INT8, 0.05, zp, g, alpha)
    np.testing.assert_array_equal(out, ref)
    assert out[ALL_INT8 == zp][0] == np.float32(g[ALL_INT8 == zp][0] * np.float32(alpha))


@pytest.mark.parametrize("shape,perm", [((2, 3, 4), (2, 0, 1)), ((1, 6, 8, 3), (0, 2, 1, 3)),
                                        ((1, 3, 5, 7), (0, 2, 3, 1)), ((5,), (0,)),
                                        ((2, 3, 1, 4, 5), (4, 2, 0, 3, 1))])
def test_transpose_grad(training, shape, perm):
    rng = np.random.default_rng(len(shape))
    g = f32(rng.standard_normal([shape[p] for p in perm]))
    out = np.full(shape, np.nan, np.float32)
    training.transpose_grad(rank=len(shape), input_shape=i32(shape), perm=i32(perm),
                            grad_output=g, grad_input=out)
    ref = _tf_grad(lambda t: tf.transpose(t, perm), f32(rng.standard_normal(shape)), g)
    np.testing.assert_array_equal(out, ref)


BROADCASTS = [((1, 4, 5, 6), (1, 1, 1, 6)),   # squeeze-excite gate
              ((1, 1, 1, 6), (1, 4, 5, 6)),   # the gate first
              ((2, 3, 4), (2, 3, 4)),         # no broadcast
              ((3, 1, 5), (1, 4, 1)),         # both broadcast
              ((6,), (2, 3, 6)),              # lower rank
              ((1, 2, 1, 3, 2), (2, 1, 4, 1, 2))]  # 5-D (TF's broadcast stops there)


@pytest.mark.parametrize("op", ["MUL", "SUB"])
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_binary_grads(training, op, shapes):
    s1, s2 = shapes
    rng = np.random.default_rng(len(s1) * 10 + len(s2))
    q1 = rng.integers(-128, 128, s1).astype(np.int8)
    q2 = rng.integers(-128, 128, s2).astype(np.int8)
    quant = ((0.02, 3), (0.5, -7))
    a, b = _deq(q1, *quant[0]), _deq(q2, *quant[1])
    at, bt = tf.constant(a), tf.constant(b)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([at, bt])
        y = at * bt if op == "MUL" else at - bt
    g = f32(rng.standard_normal(y.shape))
    refs = tape.gradient(y, [at, bt], output_gradients=tf.constant(g))
    for which, (shape, other, (scale, zp)) in enumerate(((s1, q2, quant[1]),
                                                         (s2, q1, quant[0]))):
        out = np.full(shape, np.nan, np.float32)
        entry = training.mul_input_grad if op == "MUL" else training.sub_input_grad
        entry(rank1=len(s1), shape1=i32(s1), rank2=len(s2), shape2=i32(s2), which=which,
              other=np.ascontiguousarray(other), other_scale=np.float32(scale),
              other_zero_point=zp, grad_output=g, grad_input=out)
        ref = refs[which].numpy()
        np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL_REL * np.abs(ref).max(),
                                   err_msg=f"{op} operand {which}")
