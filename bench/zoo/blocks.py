"""Keras building blocks shared by the zoo architectures: conv-BN-ReLU6 and the inverted
residual (MobileNetV2 / ProxylessNAS / MCUNet MBConv) block, written as plain layer calls.

Stride-2 convolutions use 'same' padding so the TFLite converter emits no PAD op (TFLite's
SAME padding is the same asymmetric split Keras uses)."""
from __future__ import annotations


def make_divisible(value: float, divisor: int = 8) -> int:
    """Channel count rounded to a multiple of `divisor`, never more than 10 % below `value`
    (the usual width-multiplier rule of MobileNet-family models)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def conv_bn(x, filters: int, kernel: int, stride: int, name: str, relu6: bool = True):
    from tensorflow import keras

    layers = keras.layers
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                      name=name)(x)
    x = layers.BatchNormalization(name=name + "_bn")(x)
    return layers.ReLU(6.0, name=name + "_relu6")(x) if relu6 else x


def depthwise_bn(x, kernel: int, stride: int, name: str):
    from tensorflow import keras

    layers = keras.layers
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                               name=name)(x)
    x = layers.BatchNormalization(name=name + "_bn")(x)
    return layers.ReLU(6.0, name=name + "_relu6")(x)


def inverted_residual(x, out_channels: int, kernel: int, stride: int, expand: int, name: str):
    """1x1 expand (skipped when expand == 1) -> kxk depthwise -> 1x1 linear projection, plus
    the identity shortcut when shape allows. Conv layers in order: expand, depthwise, project."""
    from tensorflow import keras

    in_channels = int(x.shape[-1])
    y = x
    if expand != 1:
        y = conv_bn(y, in_channels * expand, 1, 1, name + "_expand")
    y = depthwise_bn(y, kernel, stride, name + "_dw")
    y = conv_bn(y, out_channels, 1, 1, name + "_project", relu6=False)
    if stride == 1 and in_channels == out_channels:
        y = keras.layers.Add(name=name + "_add")([x, y])
    return y


def classifier_head(x, num_classes: int):
    """Global average pool -> dense -> softmax (MEAN, FULLY_CONNECTED, SOFTMAX in TFLite)."""
    from tensorflow import keras

    layers = keras.layers
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(num_classes, name="classifier")(x)
    return layers.Softmax(name="probs")(x)
