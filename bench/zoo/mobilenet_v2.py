"""MobileNetV2 width 0.35 at 128x128: Keras' own application definition, random init."""
from __future__ import annotations



NAME = "mobilenetv2_w035"
# conv + depthwise layers counted from the input (the paper's indexing): first conv, block 0
# (depthwise + project), 16 blocks of expand/depthwise/project, final 1x1 conv to 1280.
CONV_LAYERS = 1 + 2 + 16 * 3 + 1


def build(input_shape=(128, 128, 3), num_classes: int = 10):
    from tensorflow import keras

    # Keras' MobileNetV2 head is GAP -> Dense(softmax); classifier_activation keeps the
    # softmax a separate SOFTMAX op after FULLY_CONNECTED in TFLite, as in the other models.
    return keras.applications.MobileNetV2(input_shape=input_shape, alpha=0.35, weights=None,
                                          classes=num_classes, include_top=True)
