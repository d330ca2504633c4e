"""Ops that only compute a RESHAPE's static shape, folded at convert time.

Keras 3 writes `Reshape` as reshape(x, (shape(x)[0],) + target), which the TFLite converter
keeps as SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE even though every shape is static. TFLM's
RESHAPE takes its output shape from the output tensor (its Prepare only checks the element
count), never from the values of its shape input, so such a chain changes nothing the model
computes. The training program leaves its ops out: they get no FORWARD instruction, no
prepared state (op table state offset -1) and no arena tensors. The stock subgraph keeps them,
so TFLM and export() see the model as it was.
"""
from __future__ import annotations

FOLDABLE = ("SHAPE", "STRIDED_SLICE", "PACK")
# The ops with no runtime registration: they only ever run folded.
FOLDED_ONLY = ("SHAPE", "PACK")


def shape_only_ops(ops, tensors, graph_outputs) -> set[int]:
    """Indices of the ops whose results reach nothing but RESHAPE shape inputs (and other such
    ops), computed only from constants and the static shape of SHAPE inputs."""
    folded = {op.index for op in ops
              if op.kind in FOLDABLE and all(tensors[t].dtype == "int32" for t in op.outputs)}
    producer = {t: op.index for op in ops for t in op.outputs}
    changed = True
    while changed:
        changed = False
        for op in ops:
            if op.index in folded and not _foldable(op, ops, tensors, graph_outputs, folded,
                                                    producer):
                folded.discard(op.index)
                changed = True
    return folded


def _foldable(op, ops, tensors, graph_outputs, folded, producer) -> bool:
    for k, t in enumerate(op.inputs):
        if t < 0 or tensors[t].is_constant or producer.get(t) in folded:
            continue
        if not (op.kind == "SHAPE" and k == 0):  # SHAPE reads only its input's static shape
            return False
    for t in op.outputs:
        if t in graph_outputs:
            return False
        for consumer in ops:
            for k, u in enumerate(consumer.inputs):
                if u == t and consumer.index not in folded and not (
                        consumer.kind == "RESHAPE" and k == 1):
                    return False
    return True


def refuse_unfolded(ops, folded: set[int]) -> list[str]:
    """Why each op that runs only folded was not folded (empty when all were)."""
    return [f"op {op.index}: {op.kind} is supported only where it computes a RESHAPE's static "
            "shape (folded at convert time); here its result feeds other ops or depends on "
            "tensor values"
            for op in ops if op.kind in FOLDED_ONLY and op.index not in folded]


__all__ = ["FOLDABLE", "FOLDED_ONLY", "refuse_unfolded", "shape_only_ops"]
