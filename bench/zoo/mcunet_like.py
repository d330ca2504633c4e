"""An MCUNet-like network at 128x128, random init. APPROXIMATION of MCUNet-5FPS: the exact
MCUNet-5FPS layer list is not available offline, so this is a net of the same building blocks
(MCUNet's search space: inverted residual blocks with 3/5/7 kernels and expand ratios 3-6, ReLU6,
a depthwise-separable first block) using a published MCUNet ImageNet layer list of the same
family. Its sparse-update scheme is MCUNet-5FPS's, applied to this net's conv-layer indices."""
from __future__ import annotations

from .blocks import classifier_head, conv_bn, depthwise_bn, inverted_residual

NAME = "mcunet_like"
APPROXIMATION = True

STEM = 16          # first conv, /2
FIRST_BLOCK = 8    # depthwise 3x3 + linear 1x1 projection
# (expand ratios, kernels, out_channels, stride of the first block) per stage.
STAGES = [
    ([3, 5, 5, 4], [7, 3, 7, 5], 16, 2),
    ([5, 5, 5], [5, 5, 5], 24, 2),
    ([5, 6, 4], [3, 7, 5], 40, 2),
    ([5, 5, 5], [5, 7, 3], 48, 1),
    ([6, 5, 4], [3, 7, 3], 96, 2),
]
HEAD = 160         # final 1x1 conv
# first conv + (depthwise + project) + 16 blocks of expand/depthwise/project + head conv = 52
CONV_LAYERS = 1 + 2 + 3 * sum(len(e) for e, _, _, _ in STAGES) + 1


def build(input_shape=(128, 128, 3), num_classes: int = 10):
    from tensorflow import keras

    inputs = keras.Input(shape=input_shape, name="image")
    x = conv_bn(inputs, STEM, 3, 2, "first_conv")
    x = depthwise_bn(x, 3, 1, "first_block_dw")
    x = conv_bn(x, FIRST_BLOCK, 1, 1, "first_block_project", relu6=False)
    for s, (expands, kernels, out, stride) in enumerate(STAGES):
        for b, (expand, kernel) in enumerate(zip(expands, kernels)):
            x = inverted_residual(x, out, kernel, stride if b == 0 else 1, expand, f"s{s}b{b}")
    x = conv_bn(x, HEAD, 1, 1, "head_conv")
    return keras.Model(inputs, classifier_head(x, num_classes), name=NAME)
