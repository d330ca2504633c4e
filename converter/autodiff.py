"""Compile-time autodiff: the forward instructions, the loss and the pruned, reordered backward
program of a training step (its memory is planned afterwards, memory_plan.py).

The step is: forward ops -> loss gradient -> for each op in reverse, only what an update needs
(backward-graph pruning), and each layer's update applied right after its gradient exists, so
no two layers' weight gradients are ever alive together (operator reordering, in-place update).
Weight gradients are produced one output channel at a time into a scratch of one channel, or,
in the fused block / head backward (fusions.py), a few channels per call (FILTER_GRAD_BLOCK)
applied one by one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import float_io
from .emit import POOL_LIKE, UNARY_GRAD, Emission, activation_mask_bounds
from .errors import ConversionError, UnsupportedOpError
from .fusions import (apply_fused_forwards, bottleneck_below, emit_bottleneck, emit_in_place_depthwise,
                      emit_mean_head, fusable_mean, in_place_depthwise, residual_alias)
from .graph import Graph, Op
from .memory_plan import read_backward
from .ops import OPS
from .optimizer import LOSSES, SGD
from .program import DType, Flags, Instruction, Opcode, Program
from .scheme import LayerUpdate, SparseUpdate


@dataclass
class _Deferred:
    """Backward work an op hands to an op below it (fused patterns, fusions.py)."""
    # MEAN input -> the MEAN output's gradient (MEAN_HEAD_BACKWARD runs at the MEAN's producer)
    head: dict[int, int] = field(default_factory=dict)
    # depthwise output -> (project conv, its output gradient) (BOTTLENECK_BACKWARD runs at the
    # depthwise)
    block: dict[int, tuple[Op, int]] = field(default_factory=dict)
    # expand convs whose backward a BOTTLENECK_BACKWARD ran
    done: set[int] = field(default_factory=set)


def backward_program(graph: Graph, updates: list[LayerUpdate], scheme: SparseUpdate,
                     loss: str, optimizer: SGD) -> Program:
    """The step's program before memory planning: FORWARD of every op, the loss and the
    backward instructions (no arena offsets yet)."""
    if loss not in LOSSES:
        raise ConversionError(f"loss={loss!r}: use one of {', '.join(LOSSES)}")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ConversionError(f"training needs a model with one input and one output; this one "
                              f"has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs")
    updated = {u.op.index: u for u in updates}
    em = Emission(graph, scheme, updated, _downstream(graph, updated),
                  [Instruction(Opcode.FORWARD, [op.index]) for op in graph.ops
                   if op.index not in graph.folded])
    n_forward = len(em.instructions)
    flags = Flags.QAS if scheme.qas else Flags(0)
    if optimizer.has_state and updates:
        flags |= Flags.OPTIMIZER_STATE
    skip: set[int] = set()
    if updates:  # an inference-only plan has no loss and no backward
        flags |= _emit_loss(em, loss, skip)
        _emit_backward(em, skip, n_forward)
        n_forward = apply_fused_forwards(em, n_forward)
    out_t = graph.outputs[0]
    return Program(n_model_tensors=len(graph.tensors), n_ops=len(graph.ops),
                   input_tensor=graph.inputs[0], output_tensor=out_t,
                   num_classes=int(graph.tensors[out_t].shape[-1]), flags=flags,
                   extra=em.extra, layers=em.layers, instructions=em.instructions,
                   n_forward=n_forward, floats=em.floats,
                   momentum=float(optimizer.momentum) if updates else 0.0)


def _downstream(graph: Graph, updated: dict[int, LayerUpdate]) -> set[int]:
    """Tensors whose gradient some update needs: everything downstream of an updated layer."""
    downstream: set[int] = set()
    for op in graph.ops:
        if op.index in graph.folded:  # reads only a shape; runs at convert time
            continue
        if op.index in updated or any(t in downstream for t in op.inputs):
            downstream.update(op.outputs)
    return downstream


def _emit_loss(em: Emission, loss: str, skip: set[int]) -> Flags:
    """The loss gradient instruction; a final SOFTMAX folded into it joins `skip`."""
    graph = em.graph
    out_t, dequantize = float_io.loss_input(graph)
    if dequantize is not None:  # a float output: the loss reads the int8 values it dequantises
        skip.add(dequantize.index)
    last = graph.producer(out_t)
    if loss == "mse":
        if last is not None and last.kind == "SOFTMAX":
            raise ConversionError("loss='mse' needs a regression head; this model ends in "
                                  "SOFTMAX (use loss='cross_entropy')")
        em.grad[out_t] = em.new_tensor(DType.FLOAT32, em.elements(out_t))
        em.emit(Opcode.LOSS_MSE, [out_t, em.grad[out_t]])
        return Flags.LOSS_MSE
    if last is not None and last.kind == "SOFTMAX":
        logits = last.inputs[0]
        em.grad[logits] = em.new_tensor(DType.FLOAT32, em.elements(logits))
        em.emit(Opcode.LOSS_SOFTMAX_CE, [logits, em.grad[logits]])
        skip.add(last.index)
        return Flags.LOSS_FROM_SOFTMAX
    em.grad[out_t] = em.new_tensor(DType.FLOAT32, em.elements(out_t))
    em.emit(Opcode.LOSS_LOGITS_CE, [out_t, em.grad[out_t]])
    return Flags(0)


def _emit_backward(em: Emission, skip: set[int], n_forward: int) -> None:
    """Each op on a gradient path, from the output back, in one of three forms: finishing a
    fused pattern an op above deferred to it, starting one, or its own backward."""
    graph, deferred = em.graph, _Deferred()
    for op in reversed(graph.ops):
        if op.index in skip or op.index in deferred.done or op.outputs[0] not in em.downstream:
            continue
        out = op.outputs[0]
        if out in deferred.head:
            emit_mean_head(em, op, deferred.head[out])
            continue
        if out in deferred.block:  # op is the depthwise of a block whose project conv deferred
            project, g_project = deferred.block.pop(out)
            expand = graph.producer(op.inputs[0])
            emit_bottleneck(em, project, op, expand, g_project)  # with P's updates
            deferred.done.add(expand.index)
            continue
        if out not in em.grad:
            raise ConversionError(f"op {op.index} ({op.kind}): its output does not reach the "
                                  "loss, so its update would have no gradient")
        if not OPS[op.kind].differentiable or op.kind == "SOFTMAX":
            raise UnsupportedOpError(f"op {op.index} ({op.kind}) lies on the gradient path but "
                                     "has no backward kernel yet")
        _emit_activation_grad(em, op, n_forward)
        _emit_op_backward(em, op, deferred)


def _emit_activation_grad(em: Emission, op: Op, n_forward: int) -> None:
    """Gate op's output gradient by its fused activation: from the int8 output, or from a
    1-bit mask when nothing else reads that output again (it can then die after the forward)."""
    bounds = activation_mask_bounds(op, em.graph)
    if bounds is None:
        return
    out, g_out = op.outputs[0], em.grad[op.outputs[0]]
    if out == em.graph.outputs[0] or read_backward(em.graph, em.instructions[n_forward:], out):
        em.emit(Opcode.ACTIVATION_GRAD, [g_out, out, *bounds])
    else:
        mask = em.new_tensor(DType.INT8, (em.elements(out) + 7) // 8)
        em.emit(Opcode.MASK_GRAD, [g_out, mask, out, *bounds])


def _emit_op_backward(em: Emission, op: Op, deferred: _Deferred) -> None:
    """op's input gradients and updates from its (activation-gated) output gradient."""
    graph = em.graph
    out = op.outputs[0]
    g_out = em.grad[out]
    data_in = op.inputs[0]
    if in_place_depthwise(em, op):
        emit_in_place_depthwise(em, op, g_out)
    elif bottleneck_below(em, op):
        deferred.block[data_in] = (op, g_out)  # the whole block's backward runs at its depthwise
    elif op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        if data_in in em.downstream:
            target, temporary = em.input_grad_target(data_in)
            em.emit(Opcode.INPUT_GRAD, [op.index, g_out, target, em.weight_scales(op)])
            em.sum_temporary(target, temporary, data_in)
        em.emit_updates(op, g_out)
    elif fusable_mean(graph, op, em.downstream):
        deferred.head[data_in] = g_out  # the producer's backward reads it group by group
    elif op.kind in POOL_LIKE or op.kind in UNARY_GRAD:
        if data_in in em.downstream:
            target, temporary = em.input_grad_target(data_in)
            em.emit(Opcode.INPUT_GRAD, [op.index, g_out, target, -1])
            em.sum_temporary(target, temporary, data_in)
    elif op.kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "QUANTIZE", "RELU"):
        # Identity on real values (QUANTIZE here is int8 -> int8 requantisation; RELU's gradient
        # was gated by its output above).
        em.give(data_in, g_out, owned=True)
    elif op.kind == "ADD":
        a, b = op.inputs[0], op.inputs[1]
        for t in (a, b):
            if graph.tensors[t].shape != graph.tensors[out].shape and t in em.downstream:
                raise UnsupportedOpError(
                    f"op {op.index} (ADD): broadcasting input {t} "
                    f"{graph.tensors[t].shape} -> {graph.tensors[out].shape} on the "
                    "gradient path is not supported")
        em.give(a, g_out, owned=True)
        # b shares the gradient where nothing writes it before its readers are done (a
        # residual block around an inverted bottleneck, fusions.residual_alias); else a copy.
        em.give(b, g_out, owned=em.grad.get(a) != g_out or residual_alias(em, op))
    elif op.kind in ("CONCATENATION", "MUL", "SUB"):
        # One INPUT_GRAD_AT per input that needs a gradient (MUL's and SUB's reduce the output
        # gradient over the axes that input was broadcast along).
        for k, t in enumerate(op.inputs):
            if t not in em.downstream:
                continue
            target, temporary = em.input_grad_target(t)
            em.emit(Opcode.INPUT_GRAD_AT, [op.index, g_out, target, k])
            em.sum_temporary(target, temporary, t)


__all__ = ["backward_program"]
