"""AVERAGE_POOL_2D and MAX_POOL_2D (kernels/average_pool.cc, max_pool.cc) bit-exact with the
tflite-micro wheel: random windows, strides, paddings and fused activations."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import (check_equal, convert, dims_tuple, rand_int8, rand_range, seeds,
                                   tf)


def _pool_case(forward, seed, is_max):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n, h, w, c = rng.choice([1, 2]), rng.randint(2, 10), rng.randint(2, 10), rng.randint(1, 5)
    fh, fw = rng.randint(1, min(4, h)), rng.randint(1, min(4, w))
    sh, sw = rng.randint(1, 3), rng.randint(1, 3)
    padding = rng.choice(["SAME", "VALID"])
    act = rng.choice([lambda v: v, tf.nn.relu, tf.nn.relu6])
    pool = tf.nn.max_pool2d if is_max else tf.nn.avg_pool2d
    buf = convert(lambda x: act(pool(x, [fh, fw], [sh, sw], padding)), [(n, h, w, c)],
                  [rand_range(rng)], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name == ("MAX_POOL_2D" if is_max else "AVERAGE_POOL_2D")
    x, out, o = op.inputs[0], op.outputs[0], op.op.builtinOptions
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    run = forward.max_pool if is_max else forward.average_pool
    a = run(input=inp, input_dims=x.shape, output_scale=out.scale,
            output_zero_point=out.zero_point, filter=(o.filterHeight, o.filterWidth),
            stride=(o.strideH, o.strideW), padding=o.padding,
            activation=o.fusedActivationFunction, output=ours)
    assert a.rc == 0
    assert dims_tuple(a.output_dims) == tuple(out.shape)
    check_equal(ours, ref, f"pool seed={seed} max={is_max}")


@pytest.mark.parametrize("seed", seeds(4000, range(8), range(100, 140)) +
                         seeds(5000, range(6), range(100, 140)))
def test_pool(forward, seed):
    """Average pooling for seeds 4000.., max pooling for 5000.."""
    _pool_case(forward, seed, is_max=seed >= 5000)
