"""PAD / PADV2 int8 (kernels/pad.cc) bit-exact with the tflite-micro wheel: ranks 2-4, random
paddings, with and without a constant value."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import check_equal, convert, nhwc4, rand_int8, rand_range, seeds, tf


def _pad_case(forward, seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    rank = rng.choice([2, 3, 4])
    shape = tuple(rng.randint(1, 5) for _ in range(rank))
    pads = [[rng.randint(0, 2), rng.randint(0, 2)] for _ in range(rank)]
    const = rng.choice([None, rng.uniform(-1, 1)])
    if const is None:
        fn = lambda x: tf.pad(x, pads)  # noqa: E731
    else:
        fn = lambda x: tf.pad(x, pads, constant_values=const)  # noqa: E731
    buf = convert(fn, [shape], [rand_range(rng)], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name in ("PAD", "PADV2")
    x, out = op.inputs[0], op.outputs[0]
    paddings = op.inputs[1].data.reshape(-1, 2)
    before = [0] * (4 - rank) + [int(p[0]) for p in paddings]
    after = [0] * (4 - rank) + [int(p[1]) for p in paddings]
    has_const = len(op.inputs) > 2 and op.inputs[2] is not None
    cval = int(op.inputs[2].data.reshape(-1)[0]) if has_const else 0
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    assert forward.pad(input=inp, input_dims=nhwc4(x.shape), before=before, after=after,
                       has_constant=int(has_const), constant=cval,
                       output_zero_point=out.zero_point, output=ours).rc == 0
    check_equal(ours, ref, f"pad seed={seed}")


@pytest.mark.parametrize("seed", seeds(9000, range(6), range(100, 140)))
def test_pad(forward, seed):
    _pad_case(forward, seed)
