"""Planning variants for memory comparisons (bench/memory, the paper's table columns).

The converter always plans with operator reordering: each layer's update runs right after its
gradient, so a layer's weight gradient only ever exists one output channel at a time. To show
what reordering saves, the same program is also planned as a framework without it would run:
every updated layer's whole weight and bias gradient (float32) is kept from the instruction
that computes it to the end of the backward pass, where all updates would be applied. These
variants are for planning only; their programs are never written to a model. The converter
knows nothing of them: compile_step plans the held gradients as extra buffers handed in here.
"""
from __future__ import annotations

from tflm_train.converter import compile_step
from tflm_train.converter.graph import Graph, build_graph
from tflm_train.converter.planner import Buffer
from tflm_train.converter.program import Opcode, Program
from tflm_train.converter.scheme import SparseUpdate, default_scheme, resolve
from tflm_train.converter.program import METADATA_NAME
from tflm_train.converter.tflite_io import read_model, set_metadata, write_model

#: what plan_variant can plan (bench/memory's columns plus inference for reference)
VARIANTS = ("inference_only", "full_update", "sparse", "sparse_reorder")


# Fused backward instructions -> how many leading arguments are op indices (program.py).
_FUSED_OPS = {"MEAN_HEAD_BACKWARD": 2, "BOTTLENECK_BACKWARD": 3}


def held_gradient_buffers(graph: Graph, program: Program) -> list[Buffer]:
    """One buffer per updated layer: its whole float32 weight gradient (updated channels x
    elements per channel) plus its bias gradient, alive from the layer's first update
    instruction to the last instruction (no reordering: updates wait for the whole backward)."""
    end = len(program.instructions) - 1
    by_op = {layer.op_index: i for i, layer in enumerate(program.layers)}
    first: dict[int, int] = {}
    for step in range(program.n_forward, end + 1):
        ins = program.instructions[step]
        if ins.opcode in (Opcode.WEIGHT_UPDATE, Opcode.BIAS_UPDATE):
            first.setdefault(ins.args[2], step)
        elif ins.opcode.name in _FUSED_OPS:
            # A fused backward computes (and applies) its layers' updates itself; its leading
            # arguments name the ops it covers.
            for op_index in ins.args[:_FUSED_OPS[ins.opcode.name]]:
                if op_index in by_op:
                    first.setdefault(by_op[op_index], step)
    for i in range(len(program.layers)):
        # any other fused form: conservatively alive over the whole backward pass
        first.setdefault(i, program.n_forward)
    held = []
    for i, layer in enumerate(program.layers):
        w = graph.tensors[layer.weight_tensor]
        per_channel = w.nbytes // layer.out_channels  # int8: bytes == elements
        size = 4 * layer.weight_channels * per_channel
        if layer.update_bias:
            size += 4 * layer.out_channels
        if size:
            held.append(Buffer(("held_gradient", i), size, first[i], end))
    return held


def full_update_scheme(graph: Graph) -> SparseUpdate:
    """Every conv / depthwise / FC layer: all weights and its bias."""
    n = len(graph.trainable_ops())
    return SparseUpdate(n_bias=n, weights={i: 1.0 for i in range(n)})


def plan_variant(model: bytes, scheme: SparseUpdate | None, variant: str,
                 input_source: bool = False):
    """CompiledStep of `variant` for an int8 .tflite (the extended model is never written).

    sparse_reorder: `scheme` exactly as tflm_train.convert plans it; sparse: the same scheme
    without reordering; full_update: every layer trained, no reordering; inference_only: the
    forward pass alone. `scheme` None means the converter's default scheme. input_source: as
    tflm_train.convert(..., input_source=True) plans (the frame read row by row where that
    lowers the arena)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
    graph = build_graph(read_model(model))
    if variant == "inference_only":
        scheme = SparseUpdate(inference_only=True)
    elif variant == "full_update":
        scheme = full_update_scheme(graph)
    else:
        scheme = scheme or default_scheme(graph)
    reorder = variant in ("sparse_reorder", "inference_only")
    return compile_step(graph, resolve(graph, scheme), scheme, input_source=input_source,
                        extra_buffers=None if reorder else held_gradient_buffers)


__all__ = ["VARIANTS", "held_gradient_buffers", "full_update_scheme", "plan_variant"]


def unstreamed_inference_model(model: bytes) -> bytes:
    """An inference-only extended model whose plan keeps every tensor whole: no row-streamed
    chains (converter/streaming.py), which never store the tensors between their ops. Its arena
    is the whole-tensor plan bench/forward compares with TFLM's, and its ops can run one by one
    (per-op profiles, intermediate tensors compared with the wheel)."""
    m = read_model(model)
    graph = build_graph(m)
    scheme = SparseUpdate(inference_only=True)
    step = compile_step(graph, resolve(graph, scheme), scheme, streaming=False)
    set_metadata(m, METADATA_NAME, step.program.encode())
    return write_model(m)
