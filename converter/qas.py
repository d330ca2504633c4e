"""Quantization-aware scaling (Lin et al. 2022): per-channel factors for int8 gradient steps.

With W = s_w * W_q, a gradient step on W_q that equals an fp32 SGD step on W is
W_q -= lr * g_W / s_w (the paper's g_Wq * s_w^-2 with g_Wq = g_W * s_w); for the int32 bias,
scale s_b = s_x * s_w. The runtime applies step = lr * factor[c] * g (g w.r.t. the real value).
Without QAS (plain int8 SGD on the quantised values) the factor is s itself.
"""
from __future__ import annotations

import numpy as np


def factors(scales: np.ndarray, channels: int, qas: bool, clamp: float,
            lr_scale: float = 1.0) -> np.ndarray:
    """Per-channel factors; near-dead channels are clamped to clamp * median scale; lr_scale
    is the layer's learning-rate factor (SparseUpdate.lr_scale), folded in here so that the
    runtime's step stays lr * factor[c] * g."""
    s = np.broadcast_to(np.asarray(scales, dtype=np.float64), (channels,))
    if not qas:
        return (s * lr_scale).astype(np.float32)
    floor = clamp * float(np.median(s))
    return (lr_scale / np.maximum(s, floor)).astype(np.float32)
