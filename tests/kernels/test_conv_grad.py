"""CONV_2D backward (kernels/training/conv_grad.cc, bias_grad.cc): input, filter and bias
gradients against TensorFlow autodiff on random geometries, and the 1x1 products bit-exact in
their documented summation order."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import (PRODUCT_SHAPES, assert_close, channel_range, conv_grad_case,
                                   deq, deq_w, f32, grad_with_zeros, ordered_filter_grad,
                                   ordered_input_grad, rand_q, random_quant, tf)
from tests.kernels.training_shim import FilterRows, conv_params


@pytest.mark.parametrize("seed", range(30))
def test_conv_grad(training, seed):
    rng = np.random.default_rng(1000 + seed)
    c, s_x, zp, xq, wq, s_w, g = conv_grad_case(rng, depthwise=False)

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

    stride, padding, dilation = (c["sh"], c["sw"]), (c["pt"], c["pl"]), (c["dh"], c["dw"])
    out_dims = (c["n"], c["ho"], c["wo"], c["co"])
    in_dims = (c["n"], c["h"], c["w"], c["ci"])
    f_dims = (c["co"], c["kh"], c["kw"], c["ci"])
    grad_in = np.full(xq.shape, np.nan, np.float32)
    training.conv_input_grad(params=conv_params(stride, padding, dilation), output_dims=out_dims,
                             grad_output=g, filter_dims=f_dims, filter=wq, filter_scales=s_w,
                             input_dims=in_dims, grad_input=grad_in)
    assert_close(grad_in, gx.numpy())

    c0, c1 = channel_range(rng, c["co"])
    grad_w = np.full((c1 - c0, c["kh"], c["kw"], c["ci"]), np.nan, np.float32)
    training.conv_filter_grad(params=conv_params(stride, padding, dilation, zp),
                              input_dims=in_dims, input=xq, input_scale=s_x,
                              output_dims=out_dims, grad_output=g, filter_dims=f_dims,
                              c_begin=c0, c_end=c1, grad_filter=grad_w)
    assert_close(grad_w, gw[c0:c1])

    grad_b = np.full(c1 - c0, np.nan, np.float32)
    training.bias_grad(positions=c["n"] * c["ho"] * c["wo"], channels=c["co"], grad_output=g,
                       c_begin=c0, c_end=c1, grad_bias=grad_b)
    assert_close(grad_b, gb.numpy()[c0:c1])


def test_conv_filter_grad_one_channel_at_a_time_matches_full(training):
    """Channel-by-channel weight gradients (minimal memory) are bit-identical to the full one."""
    rng = np.random.default_rng(7)
    params = conv_params(stride=(2, 1), padding=(1, 0), dilation=(1, 1), input_zero_point=3)
    in_dims, out_dims, f_dims = (2, 7, 6, 3), (2, 4, 4, 5), (5, 3, 3, 3)
    xq = rand_q(rng, in_dims)
    g = f32(rng.standard_normal(out_dims))

    def filter_grad(c_begin, c_end):
        grad = np.zeros((c_end - c_begin, 3, 3, 3), np.float32)
        training.conv_filter_grad(params=params, input_dims=in_dims, input=xq,
                                  input_scale=np.float32(0.02), output_dims=out_dims,
                                  grad_output=g, filter_dims=f_dims, c_begin=c_begin,
                                  c_end=c_end, grad_filter=grad)
        return grad

    full = filter_grad(0, 5)
    for ch in range(5):
        assert filter_grad(ch, ch + 1).tobytes() == full[ch:ch + 1].tobytes()


@pytest.mark.parametrize("shape", PRODUCT_SHAPES)
def test_pointwise_conv_grad_bit_exact(training, shape):
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
    out_dims, in_dims, f_dims = (n, h, w_, co), (n, h, w_, ci), (co, 1, 1, ci)
    grad_in = np.full((positions, ci), np.nan, np.float32)
    training.conv_input_grad(params=conv_params((1, 1), (0, 0), (1, 1)), output_dims=out_dims,
                             grad_output=g, filter_dims=f_dims, filter=wq, filter_scales=s_w,
                             input_dims=in_dims, grad_input=grad_in)
    assert grad_in.tobytes() == ordered_input_grad(g, s_w, wq).tobytes()
    for c0, c1 in [(0, co), channel_range(rng, co)]:
        grad_w = np.full((c1 - c0, ci), np.nan, np.float32)
        training.conv_filter_grad(params=conv_params((1, 1), (0, 0), (1, 1), zp),
                                  input_dims=in_dims, input=xq, input_scale=s_x,
                                  output_dims=out_dims, grad_output=g, filter_dims=f_dims,
                                  c_begin=c0, c_end=c1, grad_filter=grad_w)
        assert grad_w.tobytes() == ordered_filter_grad(g, xq, -zp, s_x, c0, c1).tobytes()
    # A channel group of the input gradient, the filter rows split between two copies.
    j0, j1 = channel_range(rng, ci)
    head_rows = int(rng.integers(0, co + 1))
    head = wq.copy()
    base = np.zeros_like(wq)
    base[head_rows:] = wq[head_rows:]
    head[head_rows:] = 0
    grad_g = np.full((positions, j1 - j0), np.nan, np.float32)
    rows = FilterRows(base=base.ctypes.data, head=head.ctypes.data, head_rows=head_rows,
                      row_size=ci)
    training.pointwise_input_grad_channels(positions=positions, output_channels=co,
                                           grad_output=g, filter=rows, filter_scales=s_w,
                                           ci_begin=j0, ci_end=j1, grad_input=grad_g)
    assert grad_g.tobytes() == ordered_input_grad(g, s_w, wq, j0, j1).tobytes()


# (positions, out channels = reduction depth, in channels): one and several reduction chunks,
# position tiles and their tails, column chunks past 32.
_ACCUMULATE_SHAPES = [(1, 1, 1), (5, 32, 7), (16, 128, 112), (40, 70, 37), (33, 33, 17),
                      (64, 24, 32), (3, 65, 5)]


def _accumulate(training, params, g, wq, s_w, in_dims, grad_in, c0, c1):
    """ConvInputGradAccumulate over output channels [c0, c1) (the group's contiguous gradient,
    filter rows and scales, as the fused backward passes them) into grad_in."""
    n, ho, wo, _ = g.shape
    training.conv_input_grad_accumulate(
        params=params, output_dims=(n, ho, wo, c1 - c0),
        grad_output=np.ascontiguousarray(g[..., c0:c1]),
        filter_dims=(c1 - c0, *wq.shape[1:]), filter=np.ascontiguousarray(wq[c0:c1]),
        filter_scales=np.ascontiguousarray(s_w[c0:c1]), input_dims=in_dims, grad_input=grad_in)


@pytest.mark.parametrize("shape", _ACCUMULATE_SHAPES)
def test_pointwise_input_grad_accumulate_bit_exact(training, shape):
    """The accumulating form continues the sums grad_input holds (including -0 values and +-0
    gradients), terms in output-channel order."""
    positions, co, ci = shape
    rng = np.random.default_rng(positions * 7 + co * 1009 + ci)
    wq = rand_q(rng, (co, 1, 1, ci))
    s_w = f32(rng.uniform(0.001, 0.05, co))
    g = grad_with_zeros(rng, (1, 1, positions, co))
    before = grad_with_zeros(rng, (positions, ci))
    before.reshape(-1)[::5] = -0.0
    grad_in = before.copy()
    _accumulate(training, conv_params((1, 1), (0, 0), (1, 1)), g, wq, s_w, (1, 1, positions, ci),
                grad_in, 0, co)
    want = before
    for k in range(co):
        t = (g[0, 0, :, k] * s_w[k]).astype(np.float32)
        want = (want + t[:, None] * wq[k, 0, 0].astype(np.float32)[None, :]).astype(np.float32)
    assert grad_in.tobytes() == want.tobytes()


def _groups(rng, co):
    """Random cut points of [0, co) into consecutive groups."""
    cuts = sorted({int(c) for c in rng.integers(1, co, size=min(co - 1, 3))}) if co > 1 else []
    return list(zip([0, *cuts], [*cuts, co]))


@pytest.mark.parametrize("seed", range(12))
def test_input_grad_accumulate_any_groups_same_bits(training, seed):
    """Output-channel groups of any sizes, accumulated in channel order from +0, give the same
    bits: the pointwise whole-op gradient (ConvInputGrad), and for other geometries the sum in
    (co, ky, kx) order per element."""
    rng = np.random.default_rng(4000 + seed)
    pointwise = seed % 2 == 0
    if pointwise:
        positions, co, ci = int(rng.integers(1, 40)), int(rng.integers(1, 80)), \
            int(rng.integers(1, 40))
        c = {"n": 1, "h": 1, "w": positions, "ho": 1, "wo": positions, "ci": ci, "co": co,
             "kh": 1, "kw": 1, "sh": 1, "sw": 1, "pt": 0, "pl": 0, "dh": 1, "dw": 1}
        wq = rand_q(rng, (co, 1, 1, ci))
        s_w = f32(rng.uniform(0.001, 0.05, co))
        g = grad_with_zeros(rng, (1, 1, positions, co))
    else:
        c, _, _, _, wq, s_w, g = conv_grad_case(rng, depthwise=False)
    params = conv_params((c["sh"], c["sw"]), (c["pt"], c["pl"]), (c["dh"], c["dw"]))
    in_dims = (c["n"], c["h"], c["w"], c["ci"])
    results = []
    for groups in ([(0, c["co"])], _groups(rng, c["co"]), _groups(rng, c["co"])):
        grad_in = np.zeros(in_dims, np.float32)
        for c0, c1 in groups:
            _accumulate(training, params, g, wq, s_w, in_dims, grad_in, c0, c1)
        results.append(grad_in.tobytes())
    assert results[1] == results[0] and results[2] == results[0]
    if pointwise:
        whole = np.full(in_dims, np.nan, np.float32)
        training.conv_input_grad(params=params, output_dims=g.shape, grad_output=g,
                                 filter_dims=wq.shape, filter=wq, filter_scales=s_w,
                                 input_dims=in_dims, grad_input=whole)
        assert whole.tobytes() == results[0]
        return
    want = np.zeros(in_dims, np.float32)
    for co in range(c["co"]):
        for ky in range(c["kh"]):
            for kx in range(c["kw"]):
                w = wq[co, ky, kx].astype(np.float32)
                for oh in range(c["ho"]):
                    ih = oh * c["sh"] - c["pt"] + ky * c["dh"]
                    if not 0 <= ih < c["h"]:
                        continue
                    for ow in range(c["wo"]):
                        iw = ow * c["sw"] - c["pl"] + kx * c["dw"]
                        if 0 <= iw < c["w"]:
                            t = (g[:, oh, ow, co] * s_w[co]).astype(np.float32)
                            want[:, ih, iw] = (want[:, ih, iw] + t[:, None] * w[None, :]
                                               ).astype(np.float32)
    assert want.tobytes() == results[0]


@pytest.mark.parametrize("co, c0, c1", [(15, 8, 15), (15, 0, 15), (14, 8, 14), (14, 0, 14),
                                        (23, 1, 23), (7, 0, 7), (6, 0, 6)])
def test_pointwise_filter_grad_last_channels(training, co, c0, c1):
    """6 or 7 channels left after the 8-channel tiles go through an 8-channel tile ending at
    c_end whose first rows are not stored (grad_product.cc): same bits, nothing written outside
    [c0, c1)'s rows. 7 and 6 channels alone (c_end < 8) keep the 4 x 4 and single tiles."""
    rng = np.random.default_rng(co * 1009 + c0 * 31 + c1)
    positions, ci = 11, 13  # odd columns: the 8 x 1 tail tile too
    s_x, zp = random_quant(rng)
    xq = rand_q(rng, (positions, ci))
    g = grad_with_zeros(rng, (positions, co))
    dims = (1, 1, positions, co), (1, 1, positions, ci), (co, 1, 1, ci)
    grad_w = np.full((c1 - c0 + 1, ci), np.nan, np.float32)  # one guard row
    training.conv_filter_grad(params=conv_params((1, 1), (0, 0), (1, 1), zp), input_dims=dims[1],
                              input=xq, input_scale=s_x, output_dims=dims[0], grad_output=g,
                              filter_dims=dims[2], c_begin=c0, c_end=c1, grad_filter=grad_w)
    assert grad_w[:-1].tobytes() == ordered_filter_grad(g, xq, -zp, s_x, c0, c1).tobytes()
    assert np.isnan(grad_w[-1]).all()
