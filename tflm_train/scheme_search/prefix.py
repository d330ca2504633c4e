"""The frozen prefix, computed once: a candidate trains nothing below its first trained layer,
so every sample's int8 activations there are the same for all candidates that start at (or
above) that layer. The contribution analysis computes them once per such layer and fine-tunes
only the rest of the network (the suffix model) on them.

Only exact where the suffix sees the very bytes the whole model would: the cut tensor must be
the only activation that crosses the cut (a chain, no skip connection over it), the suffix is
the same ops on the same int8 tensor, and the trained layers keep their order, so the training
program's arithmetic, shuffling and stochastic rounding draws are the same
(`tests/test_search.py` checks trained bytes equal). Where a layer cannot be cut, the candidate
runs on the whole model.
"""
from __future__ import annotations

import numpy as np

from ..converter import ConversionError, SparseUpdate
from ..converter.graph import build_graph
from ..converter.tflite_io import read_model, write_model


def cut_points(tflite: bytes) -> dict[int, tuple[int, int]]:
    """{trainable-layer index: (op index, tensor)} for every trainable layer whose activation
    input is the only non-constant tensor crossing into it from the ops before it."""
    graph = build_graph(read_model(tflite))
    order = {op.index: k for k, op in enumerate(graph.ops)}
    out = {}
    for layer, op in enumerate(graph.trainable_ops()):
        k = order[op.index]
        if k == 0:
            continue  # nothing before it: the whole model already is the suffix
        before = graph.ops[:k]
        live = set(graph.inputs) | {t for o in before for t in o.outputs}
        crossing = {t for t in live
                    if not graph.tensors[t].is_constant and
                    (t in graph.outputs or any(t in o.inputs for o in graph.ops[k:]))}
        if crossing == {op.inputs[0]}:
            out[layer] = (op.index, op.inputs[0])
    return out


def segment(tflite: bytes, start: int | None, stop: int | None) -> bytes:
    """The model's ops from op index `start` (None: the first) up to `stop` (None: the last),
    reading the cut tensor there as the model input and giving the one at `stop` as output.
    Unused tensors and buffers stay (they cost nothing: the converter plans only what runs)."""
    model = read_model(tflite)
    sg = model.subgraphs[0]
    ops = list(sg.operators)
    first = 0 if start is None else start
    last = len(ops) if stop is None else stop
    if start is not None:
        sg.inputs = np.array([ops[start].inputs[0]], dtype=np.int32)
    if stop is not None:
        sg.outputs = np.array([ops[stop].inputs[0]], dtype=np.int32)
    sg.operators = ops[first:last]
    return write_model(model)


class FrozenPrefix:
    """Suffix models and their input activations per cut layer, for one model and data split.

    `features(layer)` runs only the ops between the previous computed cut and this one, so all
    cuts together cost about one forward pass of the data."""

    def __init__(self, tflite: bytes, *xs):
        """xs: the sample sets (float or int8 inputs of the whole model) whose activations
        features() gives, in this order."""
        from ..trainer import Trainer

        self.tflite = tflite
        self.cuts = cut_points(tflite)
        self.graph = build_graph(read_model(tflite))
        self.n_layers = len(self.graph.trainable_ops())
        # The whole model's own int8 input (float samples quantised as fit() would).
        probe = Trainer(_inference_only(tflite))
        self._x = tuple(probe.quantize_input(x) for x in xs)
        self._done: dict[int, tuple[np.ndarray, ...]] = {}

    def layer_of(self, scheme: SparseUpdate, new_head: bool) -> int | None:
        """The cut layer of a candidate scheme: its first trained layer (weights or bias),
        or None when it cannot be cut there."""
        trained = [i % self.n_layers for i in scheme.weights] + \
            list(range(self.n_layers - scheme.n_bias, self.n_layers))
        if new_head:
            trained.append(self.n_layers - 1)
        first = min(trained, default=None)
        return first if first in self.cuts else None

    def suffix(self, layer: int) -> bytes:
        return segment(self.tflite, self.cuts[layer][0], None)

    def suffix_scheme(self, scheme: SparseUpdate, layer: int) -> SparseUpdate:
        """`scheme` with its layer indices counted in the suffix (n_bias counts from the end:
        unchanged)."""
        import dataclasses

        weights = {(i % self.n_layers) - layer: r for i, r in scheme.weights.items()}
        if any(i < 0 for i in weights):
            raise ConversionError(f"the scheme trains weights below the cut at layer {layer}")
        return dataclasses.replace(scheme, weights=weights)

    def features(self, layer: int) -> tuple[np.ndarray, ...]:
        """The int8 activations entering trainable layer `layer`, one array per sample set."""
        from ..trainer import Trainer

        if layer in self._done:
            return self._done[layer]
        below = [c for c in self._done if c < layer]
        start_layer = max(below, default=None)
        start = None if start_layer is None else self.cuts[start_layer][0]
        xs = self._x if start_layer is None else self._done[start_layer]
        part = Trainer(_inference_only(segment(self.tflite, start, self.cuts[layer][0])))
        shape = tuple(self.graph.tensors[self.cuts[layer][1]].shape[1:])
        out = tuple(part.predict(x).reshape((len(x),) + shape) for x in xs)
        self._done[layer] = out
        return out


def _inference_only(tflite: bytes) -> bytes:
    from ..converter import convert

    return convert(tflite, SparseUpdate(inference_only=True))
