"""DEPTHWISE_CONV_2D backward (kernels/training/depthwise_conv_grad.cc): input, filter and bias
gradients against TensorFlow autodiff, and every input-gradient form (plain, consuming, channel
group of a wider filter, in place) bit-exact in the documented summation order."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

from tests.kernels.helpers import (assert_close, channel_range, conv_grad_case, deq, deq_w,
                                   f32, rand_q, tf)
from tests.kernels.training_shim import depthwise_params


@pytest.mark.parametrize("seed", range(24))
def test_depthwise_conv_grad(training, seed):
    rng = np.random.default_rng(2000 + seed)
    c, s_x, zp, xq, wq, s_w, g = conv_grad_case(rng, depthwise=True)

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

    geometry = dict(stride=(c["sh"], c["sw"]), padding=(c["pt"], c["pl"]),
                    dilation=(c["dh"], c["dw"]), depth_multiplier=c["mult"])
    out_dims = (c["n"], c["ho"], c["wo"], c["co"])
    in_dims = (c["n"], c["h"], c["w"], c["ci"])
    f_dims = (1, c["kh"], c["kw"], c["co"])
    grad_in = np.full(xq.shape, np.nan, np.float32)
    assert training.depthwise_input_grad(params=depthwise_params(**geometry),
                                         output_dims=out_dims, grad_output=g, filter_dims=f_dims,
                                         filter=wq, filter_stride=c["co"], filter_scales=s_w,
                                         input_dims=in_dims, grad_input=grad_in).rc == 0
    assert_close(grad_in, gx.numpy())

    c0, c1 = channel_range(rng, c["co"])
    grad_w = np.full((c["kh"], c["kw"], c1 - c0), np.nan, np.float32)
    training.depthwise_filter_grad(params=depthwise_params(**geometry, input_zero_point=zp),
                                   input_dims=in_dims, input=xq, input_scale=s_x,
                                   output_dims=out_dims, grad_output=g, filter_dims=f_dims,
                                   c_begin=c0, c_end=c1, grad_filter=grad_w)
    assert_close(grad_w, gw[:, :, c0:c1])

    grad_b = np.full(c1 - c0, np.nan, np.float32)
    training.bias_grad(positions=c["n"] * c["ho"] * c["wo"], channels=c["co"], grad_output=g,
                       c_begin=c0, c_end=c1, grad_bias=grad_b)
    assert_close(grad_b, gb.numpy()[c0:c1])


def ref_depthwise_input_grad(g, wq, s_w, in_shape, stride, padding, dilation, mult):
    """DepthwiseConvInputGrad's documented sum, float32 op by op: per element 0.0f, then the
    terms (g * s_w) * float(w) in (ky, kx, m) increasing order (numpy float32 ops round like
    the C++ ones; no FMA)."""
    (sh, sw), (pt, pl), (dh, dw) = stride, padding, dilation
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
def test_depthwise_input_grad_exact_order(training, case):
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
    geometry = dict(stride=(sh, sw), padding=(pt, pl), dilation=(dh, dw))
    grad_in = np.full((n, h, w, ci), np.nan, np.float32)
    assert training.depthwise_input_grad(
        params=depthwise_params(**geometry, depth_multiplier=mult), output_dims=(n, ho, wo, co),
        grad_output=g, filter_dims=(1, kh, kw, co), filter=wq, filter_stride=co,
        filter_scales=s_w, input_dims=(n, h, w, ci), grad_input=grad_in).rc == 0
    ref = ref_depthwise_input_grad(g, wq, s_w, (n, h, w, ci), **geometry, mult=mult)
    assert grad_in.tobytes() == ref.tobytes()

    # The filter split (DepthwiseFilter): leading channels from a second buffer, the first
    # buffer's copy of them spoilt; any split point (blocks may straddle it), the same bytes.
    head = int(rng.integers(1, co + 1))
    spoilt = wq.copy()
    spoilt[..., :head] = ~spoilt[..., :head]
    grad_in = np.full((n, h, w, ci), np.nan, np.float32)
    assert training.depthwise_input_grad(
        params=depthwise_params(**geometry, depth_multiplier=mult), output_dims=(n, ho, wo, co),
        grad_output=g, filter_dims=(1, kh, kw, co), filter=spoilt, filter_stride=co,
        filter_scales=s_w, input_dims=(n, h, w, ci), grad_input=grad_in,
        head=np.ascontiguousarray(wq[..., :head]), head_stride=head, head_channels=head).rc == 0
    assert grad_in.tobytes() == ref.tobytes()

    # The consuming form: the same bytes, and grad_output left holding g * s_w.
    g_c = g.copy()
    out = np.full((n, h, w, ci), np.nan, np.float32)
    training.depthwise_input_grad_consuming(
        params=depthwise_params(**geometry, depth_multiplier=mult), output_dims=(n, ho, wo, co),
        grad_output=g_c, filter_dims=(1, kh, kw, co), filter=wq, filter_stride=co,
        filter_scales=s_w, input_dims=(n, h, w, ci), grad_input=out)
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
        wide_group = (ctypes.c_int8 * (wide.size - c0)).from_address(wide.ctypes.data + c0)
        training.depthwise_input_grad_strided(
            params=depthwise_params(**geometry, depth_multiplier=1),
            output_dims=(n, ho, wo, gw), grad_output=g_grp, filter_dims=(1, kh, kw, gw),
            filter=wide_group, filter_stride=ci + 5, filter_scales=s_w[:gw].copy(),
            input_dims=(n, h, w, gw), grad_input=out)
        ref = ref_depthwise_input_grad(g_grp, wq[..., :gw], s_w[:gw], (n, h, w, gw), **geometry,
                                       mult=1)
        assert out.tobytes() == ref.tobytes()


def test_depthwise_input_grad_refuses_a_strided_filter(training):
    """The plain form reads a whole filter: a filter stride other than its channel count is an
    error, not a silently ignored field."""
    wq, s_w = np.zeros((1, 3, 3, 4), np.int8), np.ones(4, np.float32)
    g, out = np.zeros((1, 4, 4, 4), np.float32), np.zeros((1, 4, 4, 4), np.float32)
    assert training.depthwise_input_grad(
        params=depthwise_params((1, 1), (1, 1), (1, 1), 1), output_dims=(1, 4, 4, 4),
        grad_output=g, filter_dims=(1, 3, 3, 4), filter=wq, filter_stride=8, filter_scales=s_w,
        input_dims=(1, 4, 4, 4), grad_input=out).rc == 1


@pytest.mark.parametrize("group", [1, 4, 7, 13])
def test_depthwise_input_grad_in_place_exact(training, group):
    rng = np.random.default_rng(40 + group)
    n, h, w, c, k = 1, 6, 5, 13, 5
    wq = rand_q(rng, (1, k, k, c))
    s_w = f32(rng.uniform(0.001, 0.05, c))
    g = f32(rng.standard_normal((n, h, w, c)))
    geometry = dict(stride=(1, 1), padding=(k // 2, k // 2), dilation=(1, 1))
    ref = ref_depthwise_input_grad(g, wq, s_w, (n, h, w, c), **geometry, mult=1)
    scratch = np.full(2 * n * h * w * group + (k * k * group + 3) // 4, np.nan, np.float32)
    grad = g.copy()
    training.depthwise_input_grad_in_place(params=depthwise_params(**geometry,
                                                                   depth_multiplier=1),
                                           dims=(n, h, w, c), filter_dims=(1, k, k, c),
                                           filter=wq, filter_scales=s_w, group=group,
                                           scratch=scratch, grad=grad)
    assert grad.tobytes() == ref.tobytes()
    # The filter split after 8 channels (DepthwiseFilter), its first buffer's copy spoilt.
    spoilt = wq.copy()
    spoilt[..., :8] = ~spoilt[..., :8]
    grad = g.copy()
    training.depthwise_input_grad_in_place(params=depthwise_params(**geometry,
                                                                   depth_multiplier=1),
                                           dims=(n, h, w, c), filter_dims=(1, k, k, c),
                                           filter=spoilt, filter_scales=s_w, group=group,
                                           scratch=scratch, grad=grad,
                                           head=np.ascontiguousarray(wq[..., :8]), head_stride=8,
                                           head_channels=8)
    assert grad.tobytes() == ref.tobytes()
