"""CONCATENATION int8 (kernels/concatenation.cc) bit-exact with the tflite-micro wheel on random
ranks, axes and input counts; the requantising path (which TFLM refuses) against our QUANTIZE
int8 -> int8 kernel."""
from __future__ import annotations

import ctypes
import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import check_equal, convert, f32, i32, rand_int8, rand_range, seeds, tf


def _concatenate(forward, ins, axis_sizes, scales, zero_points, out_scale, out_zp, requantize,
                 outer, inner, out_shape):
    ptrs = (ctypes.c_void_p * len(ins))(*[a.ctypes.data for a in ins])
    ours = np.zeros(out_shape, np.int8)
    assert forward.concatenation(num_inputs=len(ins), inputs=ptrs, axis_sizes=i32(axis_sizes),
                                 scales=f32(scales), zero_points=i32(zero_points),
                                 output_scale=out_scale, output_zero_point=out_zp,
                                 requantize=requantize, outer=outer, inner=inner,
                                 output=ours).rc == 0
    return ours


def _concat_case(forward, seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    rank = rng.choice([2, 3, 4])
    base = [rng.randint(1, 4) for _ in range(rank)]
    axis = rng.randrange(rank)
    k = rng.randint(2, 3)
    shapes = []
    for _ in range(k):
        s = list(base)
        s[axis] = rng.randint(1, 4)
        shapes.append(tuple(s))
    neg_axis = rng.random() < 0.3
    buf = convert(lambda *xs: tf.concat(list(xs), axis=axis - rank if neg_axis else axis),
                  shapes, [rand_range(rng) for _ in shapes], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name == "CONCATENATION"
    out = op.outputs[0]
    ax = op.op.builtinOptions.axis
    ax = ax + rank if ax < 0 else ax
    ins = [rand_int8(nrng, t.shape) for t in op.inputs]
    ref = tso.run_tflm(buf, [ins[op.graph_inputs[g]] for g in range(len(ins))])
    outer = int(np.prod(out.shape[:ax]))
    inner = int(np.prod(out.shape[ax + 1:]))
    ours = _concatenate(forward, ins, [t.shape[ax] for t in op.inputs],
                        [t.scale for t in op.inputs], [t.zero_point for t in op.inputs],
                        out.scale, out.zero_point, 0, outer, inner, out.shape)
    check_equal(ours, ref, f"concat seed={seed}")


@pytest.mark.parametrize("seed", seeds(9500, range(6), range(100, 140)))
def test_concatenation(forward, seed):
    _concat_case(forward, seed)


def test_concatenation_requantizing_path_matches_requantize(forward):
    """TFLM rejects int8 CONCATENATION unless every input has the output's scale and zero point
    (Prepare fails), so our optional requantising path is checked against our QUANTIZE
    int8->int8 kernel (which is checked against TFLM) instead."""
    rng = np.random.default_rng(5)
    a, b = rand_int8(rng, (3, 4, 5)), rand_int8(rng, (3, 2, 5))
    scales = np.array([0.02, 0.05], np.float32)
    out_scale, out_zp = 0.03, 3
    ours = _concatenate(forward, [a, b], [4, 2], scales, [-10, 17], out_scale, out_zp, 1, 3, 5,
                        (3, 6, 5))
    ra, rb = np.zeros_like(a), np.zeros_like(b)
    for x, rx, scale, zp in ((a, ra, scales[0], -10), (b, rb, scales[1], 17)):
        assert forward.requantize(input=x, size=x.size, input_scale=scale, input_zero_point=zp,
                                  output_scale=out_scale, output_zero_point=out_zp,
                                  output=rx).rc == 0
    check_equal(ours, np.concatenate([ra, rb], axis=1), "concat requantize")
