"""DEPTHWISE_CONV_2D (kernels/depthwise_conv.cc) bit-exact with the tflite-micro wheel: random
shapes, depth multipliers, strides, dilations, paddings and fused activations."""
from __future__ import annotations

import pytest

from tests.kernels.helpers import check_conv_case, seeds


@pytest.mark.parametrize("seed", seeds(1000, range(10), range(100, 200)))
def test_depthwise_conv(forward, seed):
    check_conv_case(forward, seed, depthwise=True)
