"""MEAN over height and width (kernels/mean.cc) bit-exact with the tflite-micro wheel: random
shapes, keep_dims, equal input/output quantisation and large counts."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import check_equal, convert, rand_int8, rand_range, seeds, tf


def _run_mean(forward, op, inp):
    x, out = op.inputs[0], op.outputs[0]
    ours = np.zeros(out.shape, np.int8)
    assert forward.mean(input=inp, input_dims=x.shape, input_scale=x.scale,
                        input_zero_point=x.zero_point, output_scale=out.scale,
                        output_zero_point=out.zero_point, output=ours).rc == 0
    return ours


def _mean_case(forward, seed, force_same_quant=False):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n, h, w, c = rng.choice([1, 2]), rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 6)
    if h * w == 1:  # the converter folds a 1x1 keep_dims mean away
        w = 2
    keep = rng.random() < 0.5
    buf = convert(lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=keep), [(n, h, w, c)],
                  [rand_range(rng)], seed=seed)
    if force_same_quant:
        model = tso.read_model(buf)
        sg = model.subgraphs[0]
        qin = sg.tensors[sg.operators[0].inputs[0]].quantization
        qout = sg.tensors[sg.operators[0].outputs[0]].quantization
        qout.scale, qout.zeroPoint = list(qin.scale), list(qin.zeroPoint)
        buf = tso.write_model(model)
    op = tso.single_op(buf)
    assert op.op_name == "MEAN"
    inp = rand_int8(nrng, op.inputs[0].shape)
    ref = tso.run_tflm(buf, [inp])
    check_equal(_run_mean(forward, op, inp), ref, f"mean seed={seed} same={force_same_quant}")


@pytest.mark.parametrize("seed", seeds(6000, range(8), range(100, 140)))
def test_mean(forward, seed):
    _mean_case(forward, seed)


@pytest.mark.parametrize("seed", seeds(6500, range(4), range(100, 140)))
def test_mean_same_quant(forward, seed):
    _mean_case(forward, seed, force_same_quant=True)


@pytest.mark.parametrize("hw", [(1, 1), (16, 16), (32, 40), (64, 64)])
def test_mean_large_counts(forward, hw):
    """Counts up to 4096 exercise the folded 1/count multiplier and its shift clamping."""
    nrng = np.random.default_rng(hw[0] * 100 + hw[1])
    shape = (1, hw[0], hw[1], 3)
    buf = convert(lambda x: tf.reduce_mean(x, axis=[1, 2]), [shape], [(-2.0, 1.0)])
    op = tso.single_op(buf)
    assert tuple(op.inputs[0].shape) == shape
    inp = rand_int8(nrng, shape)
    ref = tso.run_tflm(buf, [inp])
    check_equal(_run_mean(forward, op, inp), ref, f"mean {hw}")
