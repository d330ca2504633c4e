"""ADD int8 (kernels/add.cc) bit-exact with the tflite-micro wheel: equal shapes, 4-D
broadcasting and lower-rank operands, with fused activations."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import check_equal, convert, nhwc4, rand_int8, rand_range, seeds, tf


def _add_against_wheel(forward, buf, nrng, what):
    op = tso.single_op(buf)
    assert op.op_name == "ADD"
    a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
    ia, ib = rand_int8(nrng, a.shape), rand_int8(nrng, b.shape)
    # Graph input g feeds operator input op.graph_inputs[g].
    ref = tso.run_tflm(buf, [[ia, ib][op.graph_inputs[g]] for g in range(2)])
    ours = np.zeros(out.shape, np.int8)
    assert forward.add(input1=ia, input1_dims=nhwc4(a.shape), input1_scale=a.scale,
                       input1_zero_point=a.zero_point, input2=ib, input2_dims=nhwc4(b.shape),
                       input2_scale=b.scale, input2_zero_point=b.zero_point,
                       output_scale=out.scale, output_zero_point=out.zero_point,
                       activation=op.op.builtinOptions.fusedActivationFunction,
                       output_dims=nhwc4(out.shape), output=ours).rc == 0
    check_equal(ours, ref, what)


def _add_case(forward, seed, broadcast):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    out_shape = [rng.choice([1, 2]), rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 6)]
    s1, s2 = list(out_shape), list(out_shape)
    if broadcast:
        for d in range(4):
            r = rng.random()
            if r < 0.3:
                s1[d] = 1
            elif r < 0.6:
                s2[d] = 1
    act = rng.choice([lambda v: v, tf.nn.relu, tf.nn.relu6])
    buf = convert(lambda a, b: act(a + b), [tuple(s1), tuple(s2)],
                  [rand_range(rng), rand_range(rng)], seed=seed)
    _add_against_wheel(forward, buf, nrng, f"add seed={seed} broadcast={broadcast}")


@pytest.mark.parametrize("seed", seeds(8000, range(6), range(100, 140)) +
                         seeds(8500, range(8), range(100, 140)))
def test_add(forward, seed):
    """Equal shapes for seeds 8000.., broadcasting for 8500.."""
    _add_case(forward, seed, broadcast=seed >= 8500)


@pytest.mark.parametrize("shapes", [((5,), (2, 3, 5)), ((2, 1, 5), (4, 1)),
                                    ((3, 1, 1, 2), (1, 4, 2)), ((1,), (2, 2, 2, 3))])
def test_add_broadcast_lower_rank(forward, shapes):
    rng = random.Random(str(shapes))
    nrng = np.random.default_rng(len(str(shapes)))
    buf = convert(lambda a, b: a + b, list(shapes), [rand_range(rng), rand_range(rng)])
    _add_against_wheel(forward, buf, nrng, f"add broadcast {shapes}")
