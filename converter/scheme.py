"""Sparse-update schemes: which biases and which output channels of which weights to train."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import ConversionError
from .graph import Graph, Op

RATIOS = (0.0, 1 / 8, 1 / 4, 1 / 2, 1.0)


@dataclass
class SparseUpdate:
    """An update scheme.

    n_bias: update the biases of the last `n_bias` trainable layers (conv / depthwise / FC).
    weights: {layer: ratio}; `layer` indexes the trainable layers in graph order (negative
        counts from the end) or is the weight tensor's name; `ratio` in {0, 1/8, 1/4, 1/2, 1}
        is the fraction of output channels whose weights are updated (the first channels).
        A layer whose weights are updated also has its bias updated.
    qas: quantization-aware scaling of the gradients (strongly recommended for int8).
    qas_clamp: QAS uses 1/max(s_w, qas_clamp * median(s_w)) so near-dead channels with tiny
        scales do not get huge steps.
    inference_only: train nothing; the extended model carries a forward-only plan (for
        measuring what inference alone needs, or deploying the same file before training).
    lr_scale: {layer: factor > 0} (layers keyed as in `weights`, each one the scheme trains):
        that layer's weights and bias step at factor x the learning rate. QAS gives every
        layer fp32's step; a new classifier on a pretrained backbone often wants a faster
        one than the backbone layers (bench/transfer measures it).
    """

    n_bias: int = 0
    weights: dict = field(default_factory=dict)
    qas: bool = True
    qas_clamp: float = 0.05
    inference_only: bool = False
    lr_scale: dict = field(default_factory=dict)


@dataclass
class LayerUpdate:
    op: Op
    weight_channels: int   # leading output channels whose weights are updated (0 = none)
    update_bias: bool
    out_channels: int
    lr_scale: float = 1.0  # this layer's learning rate is lr_scale x the trainer's


def default_scheme(graph: Graph) -> SparseUpdate:
    """Last layer's weights and biases plus the biases of the two layers before it."""
    return SparseUpdate(n_bias=min(3, len(graph.trainable_ops())), weights={-1: 1.0})


def out_channels(graph: Graph, op: Op) -> int:
    weight = graph.tensors[op.inputs[1]]
    return weight.shape[-1] if op.kind == "DEPTHWISE_CONV_2D" else weight.shape[0]


def resolve(graph: Graph, scheme: SparseUpdate) -> list[LayerUpdate]:
    """Turn a scheme into per-layer updates, validating every entry with a clear message."""
    if scheme.inference_only:
        if scheme.n_bias or scheme.weights:
            raise ConversionError("inference_only=True cannot be combined with n_bias or "
                                  "weights: the scheme would both train and not train")
        return []
    layers = graph.trainable_ops()
    if not layers:
        raise ConversionError("the model has no trainable layers (CONV_2D, DEPTHWISE_CONV_2D "
                              "or FULLY_CONNECTED)")
    if not isinstance(scheme.n_bias, int) or not 0 <= scheme.n_bias <= len(layers):
        raise ConversionError(f"n_bias={scheme.n_bias!r}: must be an integer between 0 and the "
                              f"number of trainable layers ({len(layers)})")
    by_name = {graph.tensors[op.inputs[1]].name: i for i, op in enumerate(layers)}
    chosen: dict[int, int] = {}
    for key, ratio in dict(scheme.weights).items():
        idx = _layer_index("weights", key, by_name, len(layers))
        if not any(math.isclose(float(ratio), r) for r in RATIOS):
            raise ConversionError(f"weights: ratio {ratio!r} for layer {key!r} must be one of "
                                  "0, 1/8, 1/4, 1/2, 1")
        cout = out_channels(graph, layers[idx])
        chosen[idx] = 0 if ratio == 0 else max(1, int(round(float(ratio) * cout)))
    scales: dict[int, float] = {}
    for key, factor in dict(scheme.lr_scale).items():
        idx = _layer_index("lr_scale", key, by_name, len(layers))
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) \
                or not (math.isfinite(factor) and factor > 0):
            raise ConversionError(f"lr_scale: factor {factor!r} for layer {key!r} must be a "
                                  "finite number > 0 (leave a layer out of the scheme to "
                                  "freeze it)")
        scales[idx] = float(factor)
    bias_from = len(layers) - scheme.n_bias
    updates = []
    for i, op in enumerate(layers):
        k = chosen.get(i, 0)
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        update_bias = (i >= bias_from or k > 0) and has_bias
        if k or update_bias:
            updates.append(LayerUpdate(op, k, update_bias, out_channels(graph, op),
                                       scales.pop(i, 1.0)))
    if scales:
        names = [graph.tensors[layers[i].inputs[1]].name for i in sorted(scales)]
        raise ConversionError(f"lr_scale: layer(s) {', '.join(names)} are not trained by the "
                              "scheme (no weights or bias updated), so a learning-rate factor "
                              "means nothing there")
    if not updates:
        raise ConversionError("the update scheme selects nothing to train (n_bias=0 and no "
                              "weights); pass n_bias>0 or weights={layer: ratio}, or "
                              "inference_only=True for a forward-only plan")
    return updates


def _layer_index(what: str, key, by_name: dict[str, int], n_layers: int) -> int:
    """A scheme's layer key (index, negative from the end, or weight tensor name) -> index."""
    if isinstance(key, str):
        if key not in by_name:
            raise ConversionError(f"{what}: no trainable layer has a weight tensor named "
                                  f"{key!r}; known: {', '.join(by_name)}")
        return by_name[key]
    if isinstance(key, int) and -n_layers <= key < n_layers:
        return key % n_layers
    raise ConversionError(f"{what}: layer {key!r} does not exist; the model has "
                          f"{n_layers} trainable layers (0..{n_layers - 1}, or "
                          f"negative from the end)")
