"""ProxylessNAS-Mobile at width 0.3, 128x128, random init, written out block by block.

Layer list of the published ProxylessNAS-Mobile architecture (Cai et al., ICLR 2019): first
conv 32 /2, an expand-1 block to 16, then inverted residual blocks with 3/5/7 kernels and expand
ratios 3/6; two blocks of the 32-channel stage are "zero" (skipped) in the searched net and are
left out here. Widths are scaled by 0.3 and rounded to multiples of 8; the final 1x1 conv keeps
1280 channels (the width rule only scales it up, never down)."""
from __future__ import annotations

from .blocks import classifier_head, conv_bn, inverted_residual, make_divisible

NAME = "proxylessnas_w03"
WIDTH = 0.3

# (out_channels at width 1.0, kernel, expand, stride) per block, in order from the input.
BLOCKS = [
    (16, 3, 1, 1),
    # 32-channel stage (the searched net keeps two of its four blocks)
    (32, 5, 3, 2), (32, 3, 3, 1),
    # 40-channel stage
    (40, 7, 3, 2), (40, 3, 3, 1), (40, 5, 3, 1), (40, 5, 3, 1),
    # 80-channel stage, then 96 at the same resolution
    (80, 7, 6, 2), (80, 5, 3, 1), (80, 5, 3, 1), (80, 5, 3, 1),
    (96, 5, 6, 1), (96, 5, 3, 1), (96, 5, 3, 1), (96, 5, 3, 1),
    # 192-channel stage, then 320
    (192, 7, 6, 2), (192, 7, 6, 1), (192, 7, 3, 1), (192, 7, 3, 1),
    (320, 7, 6, 1),
]
FIRST_CONV = 32
LAST_CONV = 1280
# first conv + (depthwise + project) + 19 blocks of expand/depthwise/project + last conv = 61
CONV_LAYERS = 1 + 2 + 3 * (len(BLOCKS) - 1) + 1


def build(input_shape=(128, 128, 3), num_classes: int = 10):
    from tensorflow import keras

    inputs = keras.Input(shape=input_shape, name="image")
    x = conv_bn(inputs, make_divisible(FIRST_CONV * WIDTH), 3, 2, "first_conv")
    for i, (out, kernel, expand, stride) in enumerate(BLOCKS):
        x = inverted_residual(x, make_divisible(out * WIDTH), kernel, stride, expand, f"b{i}")
    x = conv_bn(x, LAST_CONV, 1, 1, "last_conv")
    return keras.Model(inputs, classifier_head(x, num_classes), name=NAME)
