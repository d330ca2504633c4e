"""CONV_2D (kernels/conv.cc) bit-exact with the tflite-micro wheel: random shapes, strides,
dilations, paddings, fused activations, grouped convolutions, per-tensor weights and deep
accumulations."""
from __future__ import annotations

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import (check_conv_case, check_equal, convert, rand_int8, run_conv,
                                   seeds, tf)


@pytest.mark.parametrize("seed", seeds(0, range(12), range(100, 200)))
def test_conv(forward, seed):
    check_conv_case(forward, seed)


@pytest.mark.parametrize("seed", range(4))
def test_conv_grouped(forward, seed):
    check_conv_case(forward, 1500 + seed, groups=2 + seed % 2)


def test_conv_per_tensor_weights(forward):
    """A single filter scale is broadcast to all output channels (conv formula, in double)."""
    rng = np.random.default_rng(7)
    wgt = rng.normal(0, 1, (3, 3, 3, 6)).astype(np.float32)
    buf = convert(lambda x: tf.nn.conv2d(x, wgt, 1, "SAME"), [(1, 6, 6, 3)], [(-1, 1)])
    model = tso.read_model(buf)
    sg = model.subgraphs[0]
    q = sg.tensors[sg.operators[0].inputs[1]].quantization
    q.scale, q.zeroPoint = [float(max(q.scale))], [0]
    bias_idx = sg.operators[0].inputs[2] if len(sg.operators[0].inputs) > 2 else -1
    if bias_idx >= 0:  # keep the bias consistent with the new per-tensor scale
        bq = sg.tensors[bias_idx].quantization
        s_in = sg.tensors[sg.operators[0].inputs[0]].quantization.scale[0]
        bq.scale, bq.zeroPoint = [float(np.float32(s_in) * np.float32(q.scale[0]))] * 1, [0]
    buf = tso.write_model(model)
    op = tso.single_op(buf)
    assert len(op.inputs[1].scales) == 1
    inp = rand_int8(rng, op.inputs[0].shape)
    ref = tso.run_tflm(buf, [inp])
    check_equal(run_conv(forward, op, inp), ref, "conv per-tensor weights")


def test_conv_deep_accumulation(forward):
    """Many input channels and a 5x5 kernel: large int32 accumulators and small multipliers."""
    rng = np.random.default_rng(11)
    wgt = rng.normal(0, 0.2, (5, 5, 48, 16)).astype(np.float32)
    bias = rng.normal(0, 1, (16,)).astype(np.float32)
    buf = convert(lambda x: tf.nn.relu6(tf.nn.conv2d(x, wgt, 2, "SAME") + bias),
                  [(1, 12, 12, 48)], [(-3.0, 3.0)])
    op = tso.single_op(buf)
    assert op.inputs[2].data is not None
    inp = rand_int8(rng, op.inputs[0].shape)
    ref = tso.run_tflm(buf, [inp])
    check_equal(run_conv(forward, op, inp), ref, "conv deep")
