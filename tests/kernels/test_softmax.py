"""SOFTMAX int8 -> int8 (kernels/softmax.cc) bit-exact with the tflite-micro wheel: random shapes
and betas, and scales where diff_min bites or the input multiplier saturates."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import check_equal, convert, rand_int8, seeds, tf


def _run_softmax(forward, inp, beta, input_scale):
    depth = inp.shape[-1]
    ours = np.zeros(inp.shape, np.int8)
    assert forward.softmax(input=inp, outer=inp.size // depth, depth=depth, beta=beta,
                           input_scale=input_scale, output=ours).rc == 0
    return ours


def _softmax_case(forward, seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    shape = rng.choice([(rng.randint(1, 4), rng.randint(1, 40)),
                        (1, rng.randint(1, 4), rng.randint(1, 4), rng.randint(2, 12))])
    lo = -rng.uniform(0.5, 20)
    buf = convert(lambda x: tf.nn.softmax(x), [shape], [(lo, lo + rng.uniform(0.5, 30))],
                  seed=seed)
    beta = rng.choice([1.0, 1.0, rng.uniform(0.2, 3.0)])
    if beta != 1.0:
        model = tso.read_model(buf)
        model.subgraphs[0].operators[0].builtinOptions.beta = beta
        buf = tso.write_model(model)
    op = tso.single_op(buf)
    assert op.op_name == "SOFTMAX"
    x, out = op.inputs[0], op.outputs[0]
    assert tuple(out.shape) == tuple(x.shape)
    beta = float(np.float32(op.op.builtinOptions.beta))
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    check_equal(_run_softmax(forward, inp, beta, x.scale), ref, f"softmax seed={seed}")


@pytest.mark.parametrize("seed", seeds(7000, range(10), range(100, 140)))
def test_softmax(forward, seed):
    _softmax_case(forward, seed)


@pytest.mark.parametrize("width,beta", [(60.0, 1.0), (200.0, 2.5), (2000.0, 5.0), (4.0, 0.3),
                                        (0.5, 1.0)])
def test_softmax_extreme_scales(forward, width, beta):
    """Large beta * input_scale makes diff_min bite (inputs far below the row max give exactly
    zero), and beyond 2^5 the input multiplier saturates at 2^31 - 1; tiny scales give flat rows."""
    nrng = np.random.default_rng(int(width * 10))
    buf = convert(lambda x: tf.nn.softmax(x), [(4, 33)], [(-width / 2, width / 2)])
    model = tso.read_model(buf)
    model.subgraphs[0].operators[0].builtinOptions.beta = beta
    buf = tso.write_model(model)
    op = tso.single_op(buf)
    x = op.inputs[0]
    inp = rand_int8(nrng, x.shape)
    inp[0, :] = -128
    inp[0, 5] = 127  # one dominant element: all others below diff_min when scale is large
    ref = tso.run_tflm(buf, [inp])
    check_equal(_run_softmax(forward, inp, float(np.float32(beta)), x.scale), ref,
                f"softmax width={width} beta={beta}")


@pytest.mark.parametrize("depth", [600, 1000])
def test_softmax_of_hundreds_of_near_equal_classes_is_defined(forward, depth):
    """Over 512 classes near the row maximum make TFLM's output shift exceed 31 bits (the wheel
    aborts the process there, so it cannot be the oracle). Ours gives the exact quotient: every
    probability is below one output step (1/256), so every output is -128, on every target."""
    inp = np.full((2, depth), 100, np.int8)
    inp[1, ::2] = 99  # near-equal, not equal: the sum still passes 512
    ours = _run_softmax(forward, inp, 1.0, 0.01)
    assert np.all(ours == -128)
