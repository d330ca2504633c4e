"""Shared pieces of the kernel tests: random cases, the quantised-model and TensorFlow
references, and comparisons.

Forward kernels are compared bit for bit with the tflite-micro wheel on single-op int8 models
built by TensorFlow. Gradient kernels are compared with tf.GradientTape on the dequantised
float32 computation (real = scale * (q - zero_point)); both sides are float32 but sum in
different orders, so the tolerance is rtol = 1e-5 plus atol = 1e-5 * max|reference|
(summation-order noise of sums with cancellation is relative to the magnitude of the terms, not
of the result). Where a kernel documents its summation order, a numpy float32 reference of that
order must give the same bytes."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")

from tests import tflite_single_op as tso  # noqa: E402

RTOL = 1e-5
ATOL_REL = 1e-5


def i32(*values):
    """int32 array of the values (or of one sequence)."""
    if len(values) == 1 and np.ndim(values[0]) > 0:
        values = values[0]
    return np.ascontiguousarray(np.asarray(values, dtype=np.int32))


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def nhwc4(shape):
    """Extends a shape to 4-D NHWC with leading 1s."""
    shape = tuple(shape)
    return (1,) * (4 - len(shape)) + shape


# ---------------------------------------------------------------- forward: the wheel's cases

def rand_int8(rng: np.random.Generator, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def rand_range(rng: random.Random):
    lo = -rng.uniform(0.0, 4.0) if rng.random() < 0.8 else rng.uniform(0.0, 0.5)
    # Keep some positive range so fused ReLUs never see an all-zero (degenerate-scale) output.
    hi = max(lo + rng.uniform(0.05, 6.0), 0.3)
    return (lo, hi)


def act_fn(rng: random.Random):
    return rng.choice([
        lambda v: v,
        tf.nn.relu,
        tf.nn.relu6,
        lambda v: tf.clip_by_value(v, -1.0, 1.0),
    ])


def convert(fn, shapes, ranges, **kw):
    """A single-op int8 .tflite of fn (tests/tflite_single_op.py)."""
    return tso.convert(tf.autograph.experimental.do_not_convert(fn), shapes, ranges, **kw)


def check_equal(ours, ref, what):
    ours = np.asarray(ours).reshape(-1)
    ref = np.asarray(ref).reshape(-1)
    bad = np.nonzero(ours != ref)[0]
    assert bad.size == 0, (f"{what}: {bad.size}/{ref.size} mismatches, first at {bad[0]}: "
                           f"ours {ours[bad[0]]} tflm {ref[bad[0]]}")


def seeds(base, fast, slow=()):
    """Case seeds base + s: those of `fast`, then those of `slow` marked slow (the long sweeps,
    still run in CI)."""
    return [base + s for s in fast] + [pytest.param(base + s, marks=pytest.mark.slow)
                                       for s in slow]


def optional_data(t, dtype):
    """The constant data of an optional operator input (None when absent)."""
    return None if t is None or t.data is None else np.ascontiguousarray(t.data, dtype)


# ---------------------------------------------------------------- training: autodiff cases

def assert_close(actual, expected):
    expected = np.asarray(expected, dtype=np.float32)
    atol = ATOL_REL * max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol)


def rand_q(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)


def deq(q, scale, zp):
    return (np.float32(scale) * (q.astype(np.int32) - zp).astype(np.float32)).astype(np.float32)


def deq_w(q, scales, axis):
    shape = [1] * q.ndim
    shape[axis] = -1
    return (q.astype(np.float32) * scales.astype(np.float32).reshape(shape)).astype(np.float32)


def random_quant(rng):
    return np.float32(rng.uniform(0.005, 0.1)), int(rng.integers(-128, 128))


def channel_range(rng, co):
    c0 = int(rng.integers(0, co))
    c1 = int(rng.integers(c0 + 1, co + 1))
    return c0, c1


def resolve_padding(mode, rng, size, k_eff, stride):
    """(pad_before, pad_after, out_size) for VALID / SAME (TF rule) / random explicit."""
    if mode == "VALID":
        before, after = 0, 0
    elif mode == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + k_eff - size, 0)
        before, after = total // 2, total - total // 2
    else:
        before, after = int(rng.integers(0, k_eff)), int(rng.integers(0, k_eff))
    out = (size + before + after - k_eff) // stride + 1
    return before, after, out


def conv_case(rng, depthwise):
    n = int(rng.integers(1, 3))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    dilated = rng.random() < 0.35
    # TF's CPU kernels reject stride > 1 together with dilation > 1.
    if dilated:
        sh = sw = 1
        dh, dw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    else:
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dh = dw = 1
    mode = rng.choice(["VALID", "SAME", "EXPLICIT"])
    while True:
        h, w = int(rng.integers(3, 10)), int(rng.integers(3, 10))
        pt, pb, ho = resolve_padding(mode, rng, h, dh * (kh - 1) + 1, sh)
        pl, pr, wo = resolve_padding(mode, rng, w, dw * (kw - 1) + 1, sw)
        if ho >= 1 and wo >= 1:
            break
    ci = int(rng.integers(1, 6))
    mult = int(rng.integers(1, 4)) if depthwise else 1
    co = ci * mult if depthwise else int(rng.integers(1, 7))
    return dict(n=n, h=h, w=w, ci=ci, co=co, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw,
                pt=pt, pb=pb, pl=pl, pr=pr, ho=ho, wo=wo, mult=mult)


def conv_grad_case(rng, depthwise):
    """A random conv_case with its int8 input and filter, filter scales and output gradient; the
    filter is [co, kh, kw, ci], or [1, kh, kw, co] for depthwise."""
    c = conv_case(rng, depthwise)
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (c["n"], c["h"], c["w"], c["ci"]))
    wq = rand_q(rng, (1, c["kh"], c["kw"], c["co"]) if depthwise else
                (c["co"], c["kh"], c["kw"], c["ci"]))
    s_w = f32(rng.uniform(0.001, 0.05, c["co"]))
    g = f32(rng.standard_normal((c["n"], c["ho"], c["wo"], c["co"])))
    return c, s_x, zp, xq, wq, s_w, g


def grad_with_zeros(rng, shape):
    """Gradients with some exact +0 / -0 (0 + -0 = +0 must survive the blocking)."""
    g = f32(rng.standard_normal(shape))
    flat = g.reshape(-1)
    flat[rng.random(flat.size) < 0.1] = 0.0
    flat[rng.random(flat.size) < 0.1] = -0.0
    return g


def ordered_input_grad(g, s_w, w, c0=0, c1=None):
    """out[p, j] = sum over k increasing of (g[p, k] * s_w[k]) * float(w[k, c0 + j]), one float32
    accumulator from 0.0f (the headers' summation contract), every operation rounded to float32."""
    c1 = w.shape[1] if c1 is None else c1
    acc = np.zeros((g.shape[0], c1 - c0), np.float32)
    for k in range(g.shape[1]):
        t = (g[:, k] * s_w[k]).astype(np.float32)
        acc = (acc + (t[:, None] * w[k, c0:c1].astype(np.float32)[None, :])).astype(np.float32)
    return acc


def ordered_filter_grad(g, x, offset, scale, c0, c1):
    """out[c, j] = (sum over p increasing of g[p, c] * float(x[p, j] + offset)) * scale."""
    acc = np.zeros((c1 - c0, x.shape[1]), np.float32)
    for p in range(g.shape[0]):
        xf = (x[p].astype(np.int32) + offset).astype(np.float32)
        acc = (acc + g[p, c0:c1][:, None] * xf[None, :]).astype(np.float32)
    return (acc * np.float32(scale)).astype(np.float32)


# (positions, out channels, in channels): tails of the 4x4 register tile and of the 32 x 32
# reduction / column chunks, and single rows / columns (the 1x1 conv and FC products).
PRODUCT_SHAPES = [(1, 1, 1), (3, 5, 7), (4, 4, 4), (5, 17, 3), (16, 33, 31), (7, 32, 32),
                  (9, 70, 65), (2, 1, 40), (13, 6, 1)]


# ---------------------------------------------------------------- forward: CONV_2D / DEPTHWISE

def dims_tuple(d):
    return (d.n, d.h, d.w, d.c)


def run_conv(forward, op, inp, depthwise=False, head_channels=0):
    """Our CONV_2D / DEPTHWISE_CONV_2D (prepare + eval) on a single-op model's tensors and
    options; returns the int8 output after checking its shape against the model's.
    head_channels > 0 (depthwise): the filter split as DepthwiseFilter allows, its leading
    channels from a second buffer and the first buffer's copy of them spoilt."""
    x, f, out, o = op.inputs[0], op.inputs[1], op.outputs[0], op.op.builtinOptions
    b = op.inputs[2] if len(op.inputs) > 2 else None
    ours = np.zeros(out.shape, np.int8)
    filt = np.ascontiguousarray(f.data)
    split = {}
    if head_channels:
        split = dict(filter_head=np.ascontiguousarray(filt[..., :head_channels]),
                     filter_head_channels=head_channels)
        filt = filt.copy()
        filt[..., :head_channels] = ~filt[..., :head_channels]
    fields = dict(input=inp, input_dims=x.shape, input_scale=x.scale,
                  input_zero_point=x.zero_point, filter=filt, **split,
                  filter_dims=f.shape, filter_scales=f32(f.scales),
                  num_filter_scales=len(f.scales), bias=optional_data(b, np.int32),
                  output_scale=out.scale, output_zero_point=out.zero_point,
                  stride=(o.strideH, o.strideW), dilation=(o.dilationHFactor, o.dilationWFactor),
                  padding=o.padding, activation=o.fusedActivationFunction, output=ours)
    if depthwise:
        a = forward.depthwise_conv(depth_multiplier=o.depthMultiplier or
                                   (f.shape[3] // x.shape[3]), **fields)
    else:
        a = forward.conv(depth_multiplier=1, **fields)
    assert a.rc == 0
    assert dims_tuple(a.output_dims) == tuple(out.shape)
    return ours


def check_conv_case(forward, seed, depthwise=False, groups=1):
    """A random CONV_2D (grouped when groups > 1) or DEPTHWISE_CONV_2D against the wheel."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n = rng.choice([1, 1, 2])
    h, w = rng.randint(3, 10), rng.randint(3, 10)
    cin = rng.randint(1, 6)
    kh, kw = rng.randint(1, min(4, h)), rng.randint(1, min(4, w))
    padding = rng.choice(["SAME", "VALID"])
    if rng.random() < 0.3:
        dil, stride = rng.randint(2, 3), 1
    else:
        dil, stride = 1, rng.randint(1, 3)
    if padding == "VALID" and (kh - 1) * dil + 1 > h or (kw - 1) * dil + 1 > w:
        padding = "SAME"
    use_bias = rng.random() < 0.7
    act = act_fn(rng)
    if depthwise:
        dm = rng.randint(1, 3)
        wgt = nrng.normal(0, 1, (kh, kw, cin, dm)).astype(np.float32) * rng.uniform(0.1, 2)
        cout = cin * dm
    else:
        if groups > 1:
            cin = groups * rng.randint(1, 3)
            cout = groups * rng.randint(1, 3)
        else:
            cout = rng.randint(1, 8)
        wgt = (nrng.normal(0, 1, (kh, kw, cin // groups, cout)).astype(np.float32) *
               rng.uniform(0.1, 2))
    bias = nrng.normal(0, 1, (cout,)).astype(np.float32)

    def fn(x):
        if depthwise:
            y = tf.nn.depthwise_conv2d(x, wgt, [1, stride, stride, 1], padding,
                                       dilations=[dil, dil])
        else:
            y = tf.nn.conv2d(x, wgt, stride, padding, dilations=dil)
        if use_bias:
            y = y + bias
        return act(y)

    buf = convert(fn, [(n, h, w, cin)], [rand_range(rng)], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name == ("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D")
    inp = rand_int8(nrng, op.inputs[0].shape)
    ref = tso.run_tflm(buf, [inp])
    check_equal(run_conv(forward, op, inp, depthwise), ref, f"conv seed={seed} dw={depthwise}")
    if depthwise and op.inputs[1].shape[3] > 4:
        head = 4 * rng.randint(1, (op.inputs[1].shape[3] - 1) // 4)
        check_equal(run_conv(forward, op, inp, depthwise, head), ref,
                    f"depthwise seed={seed} split after {head} channels")
