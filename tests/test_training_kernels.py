"""Training kernels (kernels/training/) against TensorFlow autodiff and exact numpy references.

Gradient kernels are compared with tf.GradientTape on the dequantised float32 computation
(real = scale * (q - zero_point)). Both sides are float32 but sum in different orders, so the
comparison tolerance is rtol = 1e-5 plus atol = 1e-5 * max|reference| (summation-order noise of
sums with cancellation is relative to the magnitude of the terms, not of the result).
Update kernels (SGD, rounding, saturation) are checked for exact equality with an independent
numpy/fractions reference. Exp/Log are checked in ulps against float64 numpy.
"""
from __future__ import annotations

import ctypes
import os
from fractions import Fraction

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")

from tests.native_libs import load_shim  # noqa: E402

RTOL = 1e-5
ATOL_REL = 1e-5

_VP = ctypes.c_void_p
_I = ctypes.c_int32
_F = ctypes.c_float

_SIGNATURES = {
    "tt_exp": [_I, _VP, _VP],
    "tt_log": [_I, _VP, _VP],
    "tt_floor": [_I, _VP, _VP],
    "tt_conv_input_grad": [_VP, _VP, _VP, _VP, _VP, _VP, _VP, _VP],
    "tt_conv_input_grad_add": [_VP, _VP, _VP, _VP, _VP, _VP, _VP, _VP],
    "tt_conv_filter_grad": [_VP, _VP, _VP, _F, _I, _VP, _VP, _VP, _I, _I, _VP],
    "tt_depthwise_input_grad": [_VP, _I, _VP, _VP, _VP, _VP, _VP, _VP, _VP],
    "tt_depthwise_input_grad_strided": [_VP, _VP, _VP, _VP, _VP, _I, _VP, _VP, _VP],
    "tt_depthwise_input_grad_consuming": [_VP, _I, _VP, _VP, _VP, _VP, _I, _VP, _VP, _VP],
    "tt_depthwise_input_grad_in_place": [_VP, _VP, _VP, _VP, _VP, _I, _VP, _VP],
    "tt_activation_grad_from_mask_group": [_I, _I, _I, _I, _VP, _VP],
    "tt_depthwise_filter_grad": [_VP, _I, _VP, _VP, _F, _I, _VP, _VP, _VP, _I, _I, _VP],
    "tt_bias_grad": [_I, _I, _VP, _I, _I, _VP],
    "tt_fc_input_grad": [_I, _I, _VP, _VP, _VP, _I, _VP],
    "tt_pointwise_input_grad_channels": [_I, _I, _VP, _VP, _VP, _I, _I, _VP, _I, _I, _VP],
    "tt_fc_filter_grad": [_I, _I, _VP, _I, _F, _I, _VP, _I, _I, _VP],
    "tt_average_pool_grad": [_VP, _VP, _VP, _VP, _VP],
    "tt_max_pool_grad": [_VP, _VP, _VP, _VP, _VP, _VP],
    "tt_mean_grad": [_VP, _VP, _VP],
    "tt_pad_grad": [_VP, _VP, _VP, _VP, _VP],
    "tt_concatenation_grad": [_I, _I, _I, _VP, _VP, _VP],
    "tt_activation_grad": [_I, _VP, _I, _I, _VP, _VP],
    "tt_softmax_ce_probs": [_I, _VP, _F, _I, _I, _F, _VP, _VP],
    "tt_softmax_ce_logits": [_I, _VP, _I, _VP, _VP],
    "tt_softmax_ce_int8_logits": [_I, _VP, _F, _I, _VP, _VP],
    "tt_mse": [_I, _VP, _VP, _VP, _VP],
    "tt_mse_int8": [_I, _VP, _F, _I, _VP, _VP, _VP],
    "tt_sgd_int8": [_F, _F, _I, _VP, _VP, _VP, _VP, _VP, _VP],
    "tt_sgd_int32": [_F, _F, _I, _VP, _VP, _VP, _VP, _VP, _VP],
    "tt_grad_accumulate": [_I, _VP, _VP],
    "tt_grad_scale": [_I, _F, _VP],
}


@pytest.fixture(scope="module")
def lib():
    shim = load_shim("training_shim")
    for name, args in _SIGNATURES.items():
        fn = getattr(shim, name)
        fn.argtypes = args
        fn.restype = None
    shim.tt_conv_input_grad_add.restype = _I
    return shim


def P(a):
    """Pointer to a C-contiguous numpy array (None -> NULL); keeps the array alive (temporaries
    such as P(i32(...)) would otherwise be freed before the call)."""
    if a is None:
        return None
    assert a.flags["C_CONTIGUOUS"]
    return a.ctypes.data_as(ctypes.c_void_p)


def i32(*v):
    return np.array(v, dtype=np.int32)


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


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


def random_quant(rng):
    return np.float32(rng.uniform(0.005, 0.1)), int(rng.integers(-128, 128))


def channel_range(rng, co):
    c0 = int(rng.integers(0, co))
    c1 = int(rng.integers(c0 + 1, co + 1))
    return c0, c1


@pytest.mark.parametrize("seed", range(30))
def test_conv_grad(lib, seed):
    rng = np.random.default_rng(1000 + seed)
    c = conv_case(rng, depthwise=False)
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (c["n"], c["h"], c["w"], c["ci"]))
    wq = rand_q(rng, (c["co"], c["kh"], c["kw"], c["ci"]))
    s_w = f32(rng.uniform(0.001, 0.05, c["co"]))
    g = f32(rng.standard_normal((c["n"], c["ho"], c["wo"], c["co"])))

    x = tf.constant(deq(xq, s_x, zp))
    wt = tf.constant(np.transpose(deq_w(wq, s_w, 0), (1, 2, 3, 0)))  # HWIO
    b = tf.constant(np.zeros(c["co"], np.float32))
    with tf.GradientTape() as tape:
        tape.watch([x, wt, b])
        xp = tf.pad(x, [[0, 0], [c["pt"], c["pb"]], [c["pl"], c["pr"]], [0, 0]])
        y = tf.nn.conv2d(xp, wt, strides=[1, c["sh"], c["sw"], 1], padding="VALID",
                         dilations=[1, c["dh"], c["dw"], 1]) + b
        assert tuple(y.shape) == g.shape
        loss = tf.reduce_sum(y * g)
    gx, gw, gb = tape.gradient(loss, [x, wt, b])
    gw = np.transpose(gw.numpy(), (3, 0, 1, 2))

    geom = i32(c["sh"], c["sw"], c["pt"], c["pl"], c["dh"], c["dw"])
    out_dims = i32(c["n"], c["ho"], c["wo"], c["co"])
    in_dims = i32(c["n"], c["h"], c["w"], c["ci"])
    f_dims = i32(c["co"], c["kh"], c["kw"], c["ci"])
    grad_in = np.full(xq.shape, np.nan, np.float32)
    lib.tt_conv_input_grad(P(geom), P(out_dims), P(g), P(f_dims), P(wq), P(s_w), P(in_dims),
                           P(grad_in))
    assert_close(grad_in, gx.numpy())

    c0, c1 = channel_range(rng, c["co"])
    grad_w = np.full((c1 - c0, c["kh"], c["kw"], c["ci"]), np.nan, np.float32)
    lib.tt_conv_filter_grad(P(geom), P(in_dims), P(xq), s_x, zp, P(out_dims), P(g), P(f_dims),
                            c0, c1, P(grad_w))
    assert_close(grad_w, gw[c0:c1])

    grad_b = np.full(c1 - c0, np.nan, np.float32)
    lib.tt_bias_grad(c["n"] * c["ho"] * c["wo"], c["co"], P(g), c0, c1, P(grad_b))
    assert_close(grad_b, gb.numpy()[c0:c1])


def test_conv_filter_grad_one_channel_at_a_time_matches_full(lib):
    """Channel-by-channel weight gradients (minimal memory) are bit-identical to the full one."""
    rng = np.random.default_rng(7)
    geom = i32(2, 1, 1, 0, 1, 1)
    in_dims, out_dims, f_dims = i32(2, 7, 6, 3), i32(2, 4, 4, 5), i32(5, 3, 3, 3)
    xq = rand_q(rng, tuple(in_dims))
    g = f32(rng.standard_normal(tuple(out_dims)))
    full = np.zeros((5, 3, 3, 3), np.float32)
    lib.tt_conv_filter_grad(P(geom), P(in_dims), P(xq), np.float32(0.02), 3, P(out_dims), P(g),
                            P(f_dims), 0, 5, P(full))
    for ch in range(5):
        one = np.zeros((1, 3, 3, 3), np.float32)
        lib.tt_conv_filter_grad(P(geom), P(in_dims), P(xq), np.float32(0.02), 3, P(out_dims),
                                P(g), P(f_dims), ch, ch + 1, P(one))
        assert one.tobytes() == full[ch:ch + 1].tobytes()


@pytest.mark.parametrize("seed", range(24))
def test_depthwise_conv_grad(lib, seed):
    rng = np.random.default_rng(2000 + seed)
    c = conv_case(rng, depthwise=True)
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (c["n"], c["h"], c["w"], c["ci"]))
    wq = rand_q(rng, (1, c["kh"], c["kw"], c["co"]))
    s_w = f32(rng.uniform(0.001, 0.05, c["co"]))
    g = f32(rng.standard_normal((c["n"], c["ho"], c["wo"], c["co"])))

    x = tf.constant(deq(xq, s_x, zp))
    wt = tf.constant(deq_w(wq, s_w, 3).reshape(c["kh"], c["kw"], c["ci"], c["mult"]))
    b = tf.constant(np.zeros(c["co"], np.float32))
    with tf.GradientTape() as tape:
        tape.watch([x, wt, b])
        xp = tf.pad(x, [[0, 0], [c["pt"], c["pb"]], [c["pl"], c["pr"]], [0, 0]])
        y = tf.nn.depthwise_conv2d(xp, wt, strides=[1, c["sh"], c["sw"], 1], padding="VALID",
                                   dilations=[c["dh"], c["dw"]]) + b
        assert tuple(y.shape) == g.shape
        loss = tf.reduce_sum(y * g)
    gx, gw, gb = tape.gradient(loss, [x, wt, b])
    gw = gw.numpy().reshape(c["kh"], c["kw"], c["co"])

    geom = i32(c["sh"], c["sw"], c["pt"], c["pl"], c["dh"], c["dw"])
    out_dims = i32(c["n"], c["ho"], c["wo"], c["co"])
    in_dims = i32(c["n"], c["h"], c["w"], c["ci"])
    f_dims = i32(1, c["kh"], c["kw"], c["co"])
    grad_in = np.full(xq.shape, np.nan, np.float32)
    lib.tt_depthwise_input_grad(P(geom), c["mult"], P(out_dims), P(g), P(f_dims), P(wq), P(s_w),
                                P(in_dims), P(grad_in))
    assert_close(grad_in, gx.numpy())

    c0, c1 = channel_range(rng, c["co"])
    grad_w = np.full((c["kh"], c["kw"], c1 - c0), np.nan, np.float32)
    lib.tt_depthwise_filter_grad(P(geom), c["mult"], P(in_dims), P(xq), s_x, zp, P(out_dims),
                                 P(g), P(f_dims), c0, c1, P(grad_w))
    assert_close(grad_w, gw[:, :, c0:c1])

    grad_b = np.full(c1 - c0, np.nan, np.float32)
    lib.tt_bias_grad(c["n"] * c["ho"] * c["wo"], c["co"], P(g), c0, c1, P(grad_b))
    assert_close(grad_b, gb.numpy()[c0:c1])


@pytest.mark.parametrize("seed", range(8))
def test_fully_connected_grad(lib, seed):
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

    grad_in = np.full((bsz, cin), np.nan, np.float32)
    lib.tt_fc_input_grad(bsz, cout, P(g), P(wq), P(s_w), cin, P(grad_in))
    assert_close(grad_in, gx.numpy())
    r0, r1 = channel_range(rng, cout)
    grad_w = np.full((r1 - r0, cin), np.nan, np.float32)
    lib.tt_fc_filter_grad(bsz, cin, P(xq), zp, s_x, cout, P(g), r0, r1, P(grad_w))
    assert_close(grad_w, gw.numpy()[r0:r1])
    grad_b = np.full(r1 - r0, np.nan, np.float32)
    lib.tt_bias_grad(bsz, cout, P(g), r0, r1, P(grad_b))
    assert_close(grad_b, gb.numpy()[r0:r1])


# ------------------------------------------- 1x1 / FC products: bit-exact in the documented order


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


def grad_with_zeros(rng, shape):
    """Gradients with some exact +0 / -0 (0 + -0 = +0 must survive the blocking)."""
    g = f32(rng.standard_normal(shape))
    flat = g.reshape(-1)
    flat[rng.random(flat.size) < 0.1] = 0.0
    flat[rng.random(flat.size) < 0.1] = -0.0
    return g


# (positions, out channels, in channels): tails of the 4x4 register tile and of the 32 x 32
# reduction / column chunks, and single rows / columns.
_PRODUCT_SHAPES = [(1, 1, 1), (3, 5, 7), (4, 4, 4), (5, 17, 3), (16, 33, 31), (7, 32, 32),
                   (9, 70, 65), (2, 1, 40), (13, 6, 1)]


@pytest.mark.parametrize("shape", _PRODUCT_SHAPES)
def test_pointwise_conv_grad_bit_exact(lib, shape):
    positions, co, ci = shape
    rng = np.random.default_rng(positions * 10007 + co * 101 + ci)
    n = 2 if positions % 2 == 0 and positions > 2 else 1
    hw = positions // n
    h = next(d for d in range(int(np.sqrt(hw)), 0, -1) if hw % d == 0)
    w_ = hw // h
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (positions, ci))
    wq = rand_q(rng, (co, ci))
    s_w = f32(rng.uniform(0.001, 0.05, co))
    g = grad_with_zeros(rng, (positions, co))
    geom = i32(1, 1, 0, 0, 1, 1)
    out_dims, in_dims, f_dims = i32(n, h, w_, co), i32(n, h, w_, ci), i32(co, 1, 1, ci)
    grad_in = np.full((positions, ci), np.nan, np.float32)
    lib.tt_conv_input_grad(P(geom), P(out_dims), P(g), P(f_dims), P(wq), P(s_w), P(in_dims),
                           P(grad_in))
    assert grad_in.tobytes() == ordered_input_grad(g, s_w, wq).tobytes()
    for c0, c1 in [(0, co), channel_range(rng, co)]:
        grad_w = np.full((c1 - c0, ci), np.nan, np.float32)
        lib.tt_conv_filter_grad(P(geom), P(in_dims), P(xq), s_x, zp, P(out_dims), P(g),
                                P(f_dims), c0, c1, P(grad_w))
        assert grad_w.tobytes() == ordered_filter_grad(g, xq, -zp, s_x, c0, c1).tobytes()
    # A channel group of the input gradient, the filter rows split between two copies.
    j0, j1 = channel_range(rng, ci)
    head_rows = int(rng.integers(0, co + 1))
    head = wq.copy()
    base = np.zeros_like(wq)
    base[head_rows:] = wq[head_rows:]
    head[head_rows:] = 0
    grad_g = np.full((positions, j1 - j0), np.nan, np.float32)
    lib.tt_pointwise_input_grad_channels(positions, co, P(g), P(base), P(head), head_rows, ci,
                                         P(s_w), j0, j1, P(grad_g))
    assert grad_g.tobytes() == ordered_input_grad(g, s_w, wq, j0, j1).tobytes()


# (positions, out channels = reduction depth, in channels): one and several reduction chunks
# (several park the partial sums), position blocks past 32, column chunks past 16.
_ADD_SHAPES = [(1, 1, 1), (5, 32, 7), (16, 128, 112), (40, 70, 37), (33, 33, 17), (64, 24, 32),
               (3, 65, 5)]


@pytest.mark.parametrize("shape", _ADD_SHAPES)
def test_pointwise_input_grad_add_bit_exact(lib, shape):
    """The adding form: the existing value + the sum from 0.0f (GradAccumulate's operation),
    including -0 existing values and +-0 gradients."""
    positions, co, ci = shape
    rng = np.random.default_rng(positions * 7 + co * 1009 + ci)
    wq = rand_q(rng, (co, ci))
    s_w = f32(rng.uniform(0.001, 0.05, co))
    g = grad_with_zeros(rng, (positions, co))
    before = grad_with_zeros(rng, (positions, ci))
    before.reshape(-1)[::5] = -0.0
    grad_in = before.copy()
    geom = i32(1, 1, 0, 0, 1, 1)
    dims = (i32(1, 1, positions, co), i32(co, 1, 1, ci), i32(1, 1, positions, ci))
    assert lib.tt_conv_input_grad_add(P(geom), P(dims[0]), P(g), P(dims[1]), P(wq), P(s_w),
                                      P(dims[2]), P(grad_in)) == 1
    want = (before + ordered_input_grad(g, s_w, wq)).astype(np.float32)
    assert grad_in.tobytes() == want.tobytes()
    # Not a 1x1 stride-1 conv: refused.
    assert lib.tt_conv_input_grad_add(P(i32(2, 2, 0, 0, 1, 1)), P(i32(1, 1, positions, co)),
                                      P(g), P(dims[1]), P(wq), P(s_w),
                                      P(i32(1, 2, 2 * positions, ci)), P(grad_in)) == 0


@pytest.mark.parametrize("shape", _PRODUCT_SHAPES)
def test_fully_connected_grad_bit_exact(lib, shape):
    bsz, cout, cin = shape
    rng = np.random.default_rng(bsz * 7919 + cout * 31 + cin)
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (bsz, cin))
    wq = rand_q(rng, (cout, cin))
    s_w = f32(rng.uniform(0.001, 0.05, cout))
    g = grad_with_zeros(rng, (bsz, cout))
    grad_in = np.full((bsz, cin), np.nan, np.float32)
    lib.tt_fc_input_grad(bsz, cout, P(g), P(wq), P(s_w), cin, P(grad_in))
    assert grad_in.tobytes() == ordered_input_grad(g, s_w, wq).tobytes()
    for r0, r1 in [(0, cout), channel_range(rng, cout)]:
        grad_w = np.full((r1 - r0, cin), np.nan, np.float32)
        lib.tt_fc_filter_grad(bsz, cin, P(xq), zp, s_x, cout, P(g), r0, r1, P(grad_w))
        assert grad_w.tobytes() == ordered_filter_grad(g, xq, -zp, s_x, r0, r1).tobytes()


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
def test_pool_grad(lib, seed, kind):
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

    geom = i32(sh, sw, pt, pl, fh, fw)
    in_dims, out_dims = i32(n, h, w, ch), i32(n, ho, wo, ch)
    grad_in = np.full(xq.shape, np.nan, np.float32)
    if kind == "avg":
        lib.tt_average_pool_grad(P(geom), P(out_dims), P(g), P(in_dims), P(grad_in))
    else:
        lib.tt_max_pool_grad(P(geom), P(in_dims), P(xq), P(out_dims), P(g), P(grad_in))
    assert_close(grad_in, gx)


def test_max_pool_grad_ties_route_to_first_in_scan_order(lib):
    xq = np.full((1, 2, 2, 1), 5, np.int8)  # all four equal
    g = f32([[[[3.0]]]])
    grad_in = np.full(xq.shape, np.nan, np.float32)
    lib.tt_max_pool_grad(P(i32(2, 2, 0, 0, 2, 2)), P(i32(1, 2, 2, 1)), P(xq), P(i32(1, 1, 1, 1)),
                         P(g), P(grad_in))
    assert grad_in.ravel().tolist() == [3.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("seed", range(4))
def test_mean_pad_concat_grad(lib, seed):
    rng = np.random.default_rng(5000 + seed)
    n, h, w, ch = (int(v) for v in rng.integers(1, 6, 4))
    x = tf.constant(f32(rng.standard_normal((n, h, w, ch))))
    pads = rng.integers(0, 3, size=(4, 2))
    others = [f32(rng.standard_normal((n, h, w, ch))) for _ in range(2)]
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
    in_dims = i32(n, h, w, ch)

    out = np.full((n, h, w, ch), np.nan, np.float32)
    lib.tt_mean_grad(P(in_dims), P(g_mean), P(out))
    np.testing.assert_array_equal(out, tape.gradient(l_mean, x).numpy())

    out = np.full((n, h, w, ch), np.nan, np.float32)
    lib.tt_pad_grad(P(i32(*y_pad.shape)), P(g_pad), P(i32(*pads[:, 0])), P(in_dims), P(out))
    np.testing.assert_array_equal(out, tape.gradient(l_pad, x).numpy())

    outs = [np.full(p.shape, np.nan, np.float32) for p in parts]
    ptrs = (ctypes.c_void_p * 3)(*[o.ctypes.data for o in outs])
    shape = [n, h, w, ch]
    outer, inner = int(np.prod(shape[:axis])), int(np.prod(shape[axis + 1:]))
    lib.tt_concatenation_grad(outer, inner, 3, P(i32(*sizes)), P(g_cat), ptrs)
    for o, ref in zip(outs, tape.gradient(l_cat, parts)):
        np.testing.assert_array_equal(o, ref.numpy())


def test_concatenation_grad_skips_null_inputs(lib):
    g = f32(np.arange(6).reshape(1, 6))
    a = np.full((1, 2), np.nan, np.float32)
    ptrs = (ctypes.c_void_p * 2)(None, a.ctypes.data)
    lib.tt_concatenation_grad(1, 1, 2, P(i32(4, 2)), P(g), ptrs)
    assert a.tolist() == [[4.0, 5.0]]


@pytest.mark.parametrize("act", ["relu", "relu6"])
def test_activation_grad(lib, act):
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
    lib.tt_activation_grad(k.size, P(q), lo, hi, P(g), P(out))
    np.testing.assert_array_equal(out, ref)
    lib.tt_activation_grad(k.size, P(q), lo, hi, P(g), P(g))  # in place
    np.testing.assert_array_equal(g, ref)


@pytest.mark.parametrize("seed", range(6))
def test_softmax_cross_entropy_from_logits(lib, seed):
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
    grad, out_loss = np.zeros(classes, np.float32), np.zeros(1, np.float32)
    lib.tt_softmax_ce_logits(classes, P(logits), label, P(grad), P(out_loss))
    np.testing.assert_allclose(grad, ref_g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_loss[0], loss.numpy(), rtol=1e-5, atol=1e-6)

    q = rand_q(rng, classes)
    s, zp = random_quant(rng)
    s = np.float32(s * spread)
    lt = tf.constant(deq(q, s, zp)[None])
    with tf.GradientTape() as tape:
        tape.watch(lt)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[label], logits=lt)[0]
    ref_g = tape.gradient(loss, lt).numpy()[0]
    lib.tt_softmax_ce_int8_logits(classes, P(q), s, label, P(grad), P(out_loss))
    np.testing.assert_allclose(grad, ref_g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_loss[0], loss.numpy(), rtol=1e-5, atol=1e-6)


def test_softmax_cross_entropy_from_probs(lib):
    rng = np.random.default_rng(8)
    scale, zp, eps = np.float32(1.0 / 256.0), -128, np.float32(1e-7)
    for trial in range(50):
        classes = int(rng.integers(2, 12))
        q = rand_q(rng, classes)
        label = int(rng.integers(0, classes))
        if trial % 5 == 0:
            q[label] = -128  # p_label dequantises to exactly 0 -> eps
        p = deq(q, scale, zp)
        grad, loss = np.zeros(classes, np.float32), np.zeros(1, np.float32)
        lib.tt_softmax_ce_probs(classes, P(q), scale, zp, label, eps, P(grad), P(loss))
        ref = p.copy()
        ref[label] -= np.float32(1.0)
        np.testing.assert_array_equal(grad, ref)
        ref_loss = -np.log(max(float(p[label]), float(eps)))
        np.testing.assert_allclose(loss[0], ref_loss, rtol=3e-7)


def test_mean_squared_error(lib):
    rng = np.random.default_rng(9)
    for size in (1, 3, 17):
        y = f32(rng.standard_normal(size))
        t = f32(rng.standard_normal(size))
        yt = tf.constant(y)
        with tf.GradientTape() as tape:
            tape.watch(yt)
            loss = tf.reduce_mean(tf.square(yt - t))
        ref_g = tape.gradient(loss, yt).numpy()
        grad, out_loss = np.zeros(size, np.float32), np.zeros(1, np.float32)
        lib.tt_mse(size, P(y), P(t), P(grad), P(out_loss))
        np.testing.assert_allclose(grad, ref_g, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(out_loss[0], loss.numpy(), rtol=1e-5)
        q = rand_q(rng, size)
        s, zp = random_quant(rng)
        yq = deq(q, s, zp)
        yt = tf.constant(yq)
        with tf.GradientTape() as tape:
            tape.watch(yt)
            loss = tf.reduce_mean(tf.square(yt - t))
        lib.tt_mse_int8(size, P(q), s, zp, P(t), P(grad), P(out_loss))
        np.testing.assert_allclose(grad, tape.gradient(loss, yt).numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(out_loss[0], loss.numpy(), rtol=1e-5)


# ---------------------------------------------------------------- deterministic float math


def ulp_error(actual, reference64):
    with np.errstate(over="ignore"):
        ref32 = reference64.astype(np.float32)
    finite = np.isfinite(ref32)
    spacing = np.spacing(np.abs(ref32[finite])).astype(np.float64)
    err = np.abs(actual[finite].astype(np.float64) - reference64[finite]) / spacing
    return err, finite


def test_exp_accuracy(lib):
    rng = np.random.default_rng(10)
    x = np.concatenate([
        np.linspace(-105.0, 90.0, 1_000_001, dtype=np.float32),
        f32(rng.uniform(-1, 1, 200_000)),
        f32(rng.uniform(-1e-6, 1e-6, 10_000)),
        f32([0.0, -0.0, 88.72283, 88.722839, -103.97, -87.33654, -87.3365, 1e-45, -1e-45]),
    ])
    y = np.empty_like(x)
    lib.tt_exp(x.size, P(x), P(y))
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64))
    err, finite = ulp_error(y, ref)
    assert err.max() <= 1.0, f"max exp error {err.max():.3f} ulp at x={x[finite][err.argmax()]!r}"
    assert np.all(np.isinf(y[~finite])) and np.all(y[~finite] > 0)
    assert y[x.size - 9] == 1.0 and y[x.size - 8] == 1.0
    special = f32([np.inf, -np.inf, np.nan, 1000.0, -1000.0])
    out = np.empty_like(special)
    lib.tt_exp(special.size, P(special), P(out))
    assert out[0] == np.inf and out[1] == 0.0 and np.isnan(out[2])
    assert out[3] == np.inf and out[4] == 0.0


def test_log_accuracy(lib):
    rng = np.random.default_rng(11)
    bits = rng.integers(1, 0x7F800000, 1_000_000, dtype=np.uint32)  # all positive finite floats
    x = np.concatenate([
        bits.view(np.float32),
        f32(rng.uniform(0.5, 2.0, 200_000)),
        f32(1.0 + rng.uniform(-1e-5, 1e-5, 10_000)),
        f32([1.0, np.float32(1.0) + np.spacing(np.float32(1.0)), np.float32(1.0) - np.float32(2**-24),
             1e-45, 1.17549435e-38, 3.4028235e38, np.sqrt(2.0), np.sqrt(0.5)]),
    ])
    y = np.empty_like(x)
    lib.tt_log(x.size, P(x), P(y))
    ref = np.log(x.astype(np.float64))
    err, _ = ulp_error(y, ref)
    assert err.max() <= 1.0, f"max log error {err.max():.3f} ulp at x={x[err.argmax()]!r}"
    assert y[x.size - 8] == 0.0
    special = f32([0.0, -0.0, -1.0, np.inf, np.nan])
    out = np.empty_like(special)
    lib.tt_log(special.size, P(special), P(out))
    assert out[0] == -np.inf and out[1] == -np.inf and np.isnan(out[2])
    assert out[3] == np.inf and np.isnan(out[4])


def test_floor(lib):
    x = f32([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 8388607.5, -8388607.5, 8388608.0,
             1e20, -1e20, 1e-30, -1e-30, 123.999, -123.999])
    y = np.empty_like(x)
    lib.tt_floor(x.size, P(x), P(y))
    np.testing.assert_array_equal(y, np.floor(x))


# ---------------------------------------------------------------- SGD update (exact)


def xorshift32(state):
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state


def ref_round(step32, mode, state):
    """Exact rounding of a float32 step with Fractions; returns (int, new_state)."""
    u = Fraction(0)
    if mode == 1:
        state = xorshift32(state)
        u = Fraction(state >> 8, 1 << 24)
    if np.isnan(step32):
        return 0, state
    if np.isinf(step32):
        return (10**12 if step32 > 0 else -10**12), state
    s = Fraction(float(step32))
    if mode == 0:
        a = abs(s)
        r = int(a + Fraction(1, 2))  # floor(|s| + 1/2): ties away from zero
        return (r if s >= 0 else -r), state
    total = s + u
    return int(total.numerator // total.denominator), state


def ref_sgd(w, g, factor, lr, mode, state, outer, channels, inner, c0, c1, lo, hi, mu=None,
            m=None):
    w = w.astype(object).reshape(outer, channels, inner).copy()
    g = g.reshape(outer, c1 - c0, inner)
    m = None if m is None else m.reshape(outer, c1 - c0, inner).copy()
    for o in range(outer):
        for j in range(c1 - c0):
            c = c0 + j
            for k in range(inner):
                gv = g[o, j, k]
                if m is not None:
                    gv = np.float32(np.float32(mu) * m[o, j, k]) + gv
                    m[o, j, k] = gv
                step = np.float32(np.float32(lr) * factor[c]) * gv
                r, state = ref_round(step, mode, state)
                w[o, c, k] = min(max(int(w[o, c, k]) - r, lo), hi)
    return w.reshape(-1), state, m


def run_sgd(lib, w, g, factor, lr, mode, state, slice_, mu=0.0, m=None):
    w = w.copy()
    st = np.array([state], np.uint32)
    fn = lib.tt_sgd_int8 if w.dtype == np.int8 else lib.tt_sgd_int32
    fn(np.float32(lr), np.float32(mu), mode, P(i32(*slice_)), P(g), P(factor), P(m), P(st), P(w))
    return w, int(st[0])


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize("layout", ["conv", "depthwise", "bias"])
def test_sgd_int8_and_int32_exact(lib, mode, layout):
    rng = np.random.default_rng(12 + mode)
    if layout == "conv":
        outer, channels, inner, dtype = 1, 6, 12, np.int8
    elif layout == "depthwise":
        outer, channels, inner, dtype = 9, 5, 1, np.int8
    else:
        outer, channels, inner, dtype = 1, 40, 1, np.int32
    lo, hi = (-128, 127) if dtype == np.int8 else (-2**31, 2**31 - 1)
    c0, c1 = 1, channels - 1
    info = np.iinfo(dtype)
    w = rng.integers(info.min, int(info.max) + 1, size=outer * channels * inner,
                     dtype=np.int64).astype(dtype)
    w[:4] = [info.max, info.min, info.max - 1, info.min + 1]
    count = outer * (c1 - c0) * inner
    g = f32(rng.standard_normal(count) * rng.choice([0.01, 1, 100, 1e6, 1e12], count))
    special = f32([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e30, -1e30, np.inf, -np.inf, np.nan, 0.0,
                   3e9, -3e9, 2.1474836e9, -2.1474836e9, 1e-30, -1e-30])
    g[:special.size] = special
    factor = f32(rng.uniform(0.5, 2.0, channels))
    factor[c0] = 1.0
    lr = 1.0
    state = 0x12345678
    out, new_state = run_sgd(lib, w, g, factor, lr, mode, state, (outer, channels, inner, c0, c1))
    ref, ref_state, _ = ref_sgd(w, g, factor, lr, mode, state, outer, channels, inner, c0, c1,
                                lo, hi)
    assert out.tolist() == ref.tolist()
    assert new_state == ref_state
    untouched = np.ones((outer, channels, inner), bool)
    untouched[:, c0:c1] = False
    assert out[untouched.ravel()].tolist() == w[untouched.ravel()].tolist()


def test_sgd_rounding_ties_and_saturation(lib):
    w = np.zeros(8, np.int8)
    g = f32([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997])
    out, _ = run_sgd(lib, w, g, f32(np.ones(8)), 1.0, 0, 1, (1, 8, 1, 0, 8))
    # w - round(step), ties away from zero.
    assert out.tolist() == [-1, 1, -2, 2, -3, 3, 0, 0]
    w = np.array([127, -128, 100, -100, 127, -128], np.int8)
    g = f32([-1.0, 1.0, -1e9, 1e9, np.inf, -np.inf])
    out, _ = run_sgd(lib, w, g, f32(np.ones(6)), 1.0, 0, 1, (1, 6, 1, 0, 6))
    assert out.tolist() == [127, -128, 127, -128, -128, 127]
    b = np.array([2**31 - 1, -2**31, 0, 0, 2**31 - 5, -2**31 + 5], np.int32)
    g = f32([-1.0, 1.0, 3e9, -3e9, -4.0, 4.0])
    out, _ = run_sgd(lib, b, g, f32(np.ones(6)), 1.0, 0, 1, (1, 6, 1, 0, 6))
    assert out.tolist() == [2**31 - 1, -2**31, -2**31, 2**31 - 1, 2**31 - 1, -2**31 + 1]


def test_sgd_stochastic_rounding_is_unbiased(lib):
    n = 200_000
    for step in (0.3, -0.3, 2.75, -1.125):
        w = np.zeros(n, np.int32)
        g = np.full(n, step, np.float32)
        out, _ = run_sgd(lib, w, g, f32([1.0]), 1.0, 1, 99, (1, 1, n, 0, 1))
        r = -out.astype(np.float64)
        frac = step - np.floor(step)
        assert set(np.unique(r)) <= {np.floor(step), np.floor(step) + 1}
        sigma = np.sqrt(frac * (1 - frac) / n)
        assert abs(r.mean() - np.float32(step)) < 4 * sigma + 1e-6


def test_sgd_momentum_exact(lib):
    rng = np.random.default_rng(13)
    outer, channels, inner, c0, c1 = 1, 4, 8, 1, 3
    w = rand_q(rng, outer * channels * inner)
    m = f32(rng.standard_normal(outer * (c1 - c0) * inner))
    factor = f32(rng.uniform(10, 50, channels))
    for mode in (0, 1):
        g = f32(rng.standard_normal(m.size) * 0.1)
        ref, ref_state, ref_m = ref_sgd(w, g, factor, 0.05, mode, 7, outer, channels, inner, c0,
                                        c1, -128, 127, mu=0.9, m=m)
        m_c = m.copy()
        out, state = run_sgd(lib, w, g, factor, 0.05, mode, 7, (outer, channels, inner, c0, c1),
                             mu=0.9, m=m_c)
        assert out.tolist() == ref.tolist()
        assert m_c.tobytes() == np.asarray(ref_m.reshape(-1), np.float32).tobytes()
        w, m = out, m_c


def test_grad_accumulate_and_scale(lib):
    rng = np.random.default_rng(14)
    acc = f32(rng.standard_normal(33))
    g = f32(rng.standard_normal(33))
    expected = (acc + g).astype(np.float32)
    lib.tt_grad_accumulate(33, P(g), P(acc))
    assert acc.tobytes() == expected.tobytes()
    expected = (acc * np.float32(0.25)).astype(np.float32)
    lib.tt_grad_scale(33, np.float32(0.25), P(acc))
    assert acc.tobytes() == expected.tobytes()


# ---------------------------------------------------------------- host == Cortex-M4F == M7

_BOARDS = {
    "an386": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16"],
    "an500": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16"],
}


@pytest.mark.parametrize("board", sorted(_BOARDS))
def test_bit_identical_on_host_and_boards(lib, board, tmp_path):
    """Every kernel gives the same bytes on x86-64 and on the Cortex-M boards under QEMU.

    The shim is cross-compiled directly with main() (-DTT_SHIM_FIRMWARE_MAIN) and the project's
    float flags; the board layer is taken from the last commit so a colleague's in-progress edit
    cannot break this test. (A build with -ffp-contract=fast changes most digests on the M4F.)
    """
    import shutil
    import subprocess
    from pathlib import Path

    if not (shutil.which("arm-none-eabi-g++") and shutil.which("qemu-system-arm")):
        pytest.skip("arm-none-eabi-g++ / qemu-system-arm not installed")
    root = Path(__file__).resolve().parent.parent
    board_dir = tmp_path / "targets" / "board"
    board_dir.mkdir(parents=True)
    for path in ("board/board.h", "board/board.cc", "board/startup.cc", "board/common.ld",
                 f"qemu/{board}.ld"):
        text = subprocess.run(["git", "show", f"HEAD:targets/{path}"], cwd=root,
                              check=True, capture_output=True).stdout
        (board_dir / path.split("/")[1]).write_bytes(text)
    elf = tmp_path / "digest.elf"
    sources = sorted(str(p) for p in (root / "kernels" / "training").glob("*.cc"))
    sources += [str(root / "tests" / "native" / "training_shim.cc"),
                str(board_dir / "board.cc"), str(board_dir / "startup.cc")]
    subprocess.run(["arm-none-eabi-g++", "-mthumb", *_BOARDS[board], "-mfloat-abi=hard",
                    "-std=c++17", "-fno-exceptions", "-fno-rtti", "-O2", "-ffp-contract=off",
                    "-fno-fast-math", "-ffunction-sections", "-fdata-sections",
                    f"-I{tmp_path}", f"-I{root}", "-DTT_SHIM_FIRMWARE_MAIN",
                    "--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles",
                    "-Wl,--gc-sections", f"-L{board_dir}", "-T", str(board_dir / f"{board}.ld"),
                    *sources, "-o", str(elf)], check=True, capture_output=True)
    run = subprocess.run([str(root / "targets" / "qemu" / "run_qemu.sh"), board, str(elf)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    board_digests = [int(line.split()[2], 16) for line in run.stdout.splitlines()
                     if line.startswith("digest ")]

    lib.tt_determinism_digest.argtypes = [_VP]
    lib.tt_determinism_digest.restype = None
    host = np.zeros(12, np.uint32)
    lib.tt_determinism_digest(P(host))
    assert board_digests == host.tolist()


def ref_depthwise_input_grad(g, wq, s_w, in_shape, geom, mult):
    """DepthwiseConvInputGrad's documented sum, float32 op by op: per element 0.0f, then the
    terms (g * s_w) * float(w) in (ky, kx, m) increasing order (numpy float32 ops round like
    the C++ ones; no FMA)."""
    sh, sw, pt, pl, dh, dw = (int(v) for v in geom)
    n, h, w, ci = in_shape
    _, ho, wo, _ = g.shape
    kh, kw = wq.shape[1], wq.shape[2]
    gs = (g * s_w).astype(np.float32)
    wf = wq[0].astype(np.float32)
    out = np.zeros(in_shape, np.float32)
    for b in range(n):
        for ih in range(h):
            for iw in range(w):
                acc = np.zeros(ci, np.float32)
                for ky in range(kh):
                    ty = ih + pt - ky * dh
                    if ty < 0 or ty % sh or ty // sh >= ho:
                        continue
                    for kx in range(kw):
                        tx = iw + pl - kx * dw
                        if tx < 0 or tx % sw or tx // sw >= wo:
                            continue
                        for m in range(mult):
                            acc = (acc + gs[b, ty // sh, tx // sw, m::mult] * wf[ky, kx, m::mult]
                                   ).astype(np.float32)
                out[b, ih, iw] = acc
    return out


# (n, h, w, c, kh, kw, sh, sw, pt, pl, mult, dh, dw): the zoo's shapes (4x4 and 8x8 inputs with
# 3x3/5x5/7x7 filters, stride 2 with VALID and SAME padding, group widths 6..59) and the edges of
# the depth-multiplier-1 fast path (odd channel counts, inputs no output reads, asymmetric
# strides, filters wider than the input, 1x1), plus the general path (multiplier, dilation,
# inputs wider than the fast path's column table).
_DW_EXACT_CASES = [
    (1, 4, 4, 46, 7, 7, 1, 1, 3, 3, 1, 1, 1),
    (1, 8, 8, 15, 5, 5, 1, 1, 2, 2, 1, 1, 1),
    (1, 8, 8, 14, 7, 7, 1, 1, 3, 3, 1, 1, 1),
    (1, 8, 8, 24, 3, 3, 2, 2, 0, 0, 1, 1, 1),
    (1, 16, 16, 6, 3, 3, 2, 2, 0, 0, 1, 1, 1),
    (1, 9, 9, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1),
    (1, 8, 8, 22, 7, 7, 2, 2, 2, 2, 1, 1, 1),
    (2, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1),
    (1, 7, 6, 9, 2, 2, 3, 3, 0, 0, 1, 1, 1),
    (1, 6, 9, 5, 3, 5, 1, 2, 2, 1, 1, 1, 1),
    (1, 3, 3, 11, 7, 7, 1, 1, 3, 3, 1, 1, 1),
    (1, 4, 4, 1, 5, 5, 1, 1, 4, 0, 1, 1, 1),
    (1, 5, 5, 59, 1, 1, 1, 1, 0, 0, 1, 1, 1),
    (1, 6, 6, 4, 3, 3, 2, 1, 1, 1, 2, 1, 1),
    (1, 7, 7, 5, 3, 3, 1, 1, 2, 2, 1, 2, 2),
    (1, 2, 130, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1),
    (1, 4, 4, 3, 9, 9, 1, 1, 4, 4, 1, 1, 1),
]


@pytest.mark.parametrize("case", _DW_EXACT_CASES)
def test_depthwise_input_grad_exact_order(lib, case):
    """Bit-exact against the documented summation order (every path, including -0.0 terms)."""
    n, h, w, ci, kh, kw, sh, sw, pt, pl, mult, dh, dw = case
    rng = np.random.default_rng(sum(case))
    co = ci * mult
    ho = (h + 2 * pt - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pl - dw * (kw - 1) - 1) // sw + 1
    wq = rand_q(rng, (1, kh, kw, co))
    wq[0, 0, 0, :] = 0  # (g * s) * 0 gives -0.0 for negative g: 0.0f + -0.0 must stay +0.0
    s_w = f32(rng.uniform(0.001, 0.05, co))
    g = f32(rng.standard_normal((n, ho, wo, co)))
    g[..., ::3] = -0.0 * np.abs(g[..., ::3])
    geom = i32(sh, sw, pt, pl, dh, dw)
    grad_in = np.full((n, h, w, ci), np.nan, np.float32)
    lib.tt_depthwise_input_grad(P(geom), mult, P(i32(n, ho, wo, co)), P(g),
                                P(i32(1, kh, kw, co)), P(wq), P(s_w), P(i32(n, h, w, ci)),
                                P(grad_in))
    ref = ref_depthwise_input_grad(g, wq, s_w, (n, h, w, ci), geom, mult)
    assert grad_in.tobytes() == ref.tobytes()

    # The consuming form: the same bytes, and grad_output left holding g * s_w.
    g_c = g.copy()
    out = np.full((n, h, w, ci), np.nan, np.float32)
    lib.tt_depthwise_input_grad_consuming(P(geom), mult, P(i32(n, ho, wo, co)), P(g_c),
                                          P(i32(1, kh, kw, co)), P(wq), co, P(s_w),
                                          P(i32(n, h, w, ci)), P(out))
    assert out.tobytes() == ref.tobytes()
    assert g_c.tobytes() == (g * s_w).astype(np.float32).tobytes()

    if mult == 1:
        # A channel group [c0, c0 + gw) of a wider filter read in place.
        c0 = ci // 3
        gw = ci - c0
        wide = rand_q(rng, (1, kh, kw, ci + 5))
        wide[..., c0:c0 + gw] = wq[..., :gw]
        g_grp = np.ascontiguousarray(g[..., :gw])
        out = np.full((n, h, w, gw), np.nan, np.float32)
        lib.tt_depthwise_input_grad_strided(P(geom), P(i32(n, ho, wo, gw)), P(g_grp),
                                            P(i32(1, kh, kw, gw)),
                                            ctypes.c_void_p(wide.ctypes.data + c0), ci + 5,
                                            P(s_w[:gw].copy()), P(i32(n, h, w, gw)), P(out))
        ref = ref_depthwise_input_grad(g_grp, wq[..., :gw], s_w[:gw], (n, h, w, gw), geom, 1)
        assert out.tobytes() == ref.tobytes()


@pytest.mark.parametrize("group", [1, 4, 7, 13])
def test_depthwise_input_grad_in_place_exact(lib, group):
    rng = np.random.default_rng(40 + group)
    n, h, w, c, k = 1, 6, 5, 13, 5
    wq = rand_q(rng, (1, k, k, c))
    s_w = f32(rng.uniform(0.001, 0.05, c))
    g = f32(rng.standard_normal((n, h, w, c)))
    geom = i32(1, 1, k // 2, k // 2, 1, 1)
    ref = ref_depthwise_input_grad(g, wq, s_w, (n, h, w, c), geom, 1)
    scratch = np.full(2 * n * h * w * group + (k * k * group + 3) // 4, np.nan, np.float32)
    grad = g.copy()
    lib.tt_depthwise_input_grad_in_place(P(geom), P(i32(n, h, w, c)), P(i32(1, k, k, c)), P(wq),
                                         P(s_w), group, P(scratch), P(grad))
    assert grad.tobytes() == ref.tobytes()


@pytest.mark.parametrize("positions,channels,c0,g", [(5, 13, 0, 13), (7, 46, 9, 29),
                                                       (3, 59, 58, 1), (4, 100, 30, 40),
                                                       (9, 6, 2, 3)])
def test_activation_grad_from_mask_group(lib, positions, channels, c0, g):
    rng = np.random.default_rng(positions * 100 + channels)
    bits = rng.random(positions * channels) < 0.5
    mask = np.packbits(bits, bitorder="little")
    grad = f32(rng.standard_normal((positions, g)))
    expect = np.where(bits.reshape(positions, channels)[:, c0:c0 + g], grad, np.float32(0.0))
    lib.tt_activation_grad_from_mask_group(positions, channels, c0, g, P(mask), P(grad))
    assert grad.tobytes() == f32(expect).tobytes()


@pytest.mark.parametrize("positions,channels,c0,c1", [(16, 46, 0, 46), (64, 15, 3, 14),
                                                       (1, 9, 8, 9), (7, 59, 5, 22)])
def test_bias_grad_exact_order(lib, positions, channels, c0, c1):
    """One float32 accumulator per channel from 0.0f, positions increasing."""
    rng = np.random.default_rng(positions + channels)
    g = f32(rng.standard_normal((positions, channels)))
    acc = np.zeros(channels, np.float32)
    for p in range(positions):
        acc = (acc + g[p]).astype(np.float32)
    out = np.full(c1 - c0, np.nan, np.float32)
    lib.tt_bias_grad(positions, channels, P(g), c0, c1, P(out))
    assert out.tobytes() == acc[c0:c1].tobytes()
