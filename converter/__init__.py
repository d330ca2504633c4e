"""int8 .tflite -> extended .tflite with the pruned backward program, QAS factors, update
scheme and arena plan. Subgraph 0 (inference) is left as it was; the training program lives in
a metadata entry that stock TFLM and TFLite ignore."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from . import float_io, new_head, offline_plan
from .emit import trained_bytes
from .errors import BudgetError, ConversionError, InvalidModelError, UnsupportedOpError
from .graph import Graph, build_graph
from .optimizer import LOSSES, SGD
from .pipeline import compile_step
from .planner import align
from .program import ALIGNMENT, METADATA_NAME, Program, decode_header, decode_layers
from .scheme import SparseUpdate, default_scheme, resolve
from .step import CompiledStep
from .tflite_io import get_metadata, read_model, set_metadata, write_model


@dataclass
class MemoryReport:
    """What a board needs for one training step (bytes)."""
    arena_bytes: int             # whole arena: persistent + peak of the activation region
    activation_peak_bytes: int   # planned peak of activations, gradients and scratch
    updated_weight_bytes: int    # SRAM copies of the weights and biases being trained
    op_data_bytes: int           # prepared per-op state (per-channel requantisation is in flash)
    flash_model_bytes: int       # the extended .tflite (stays in flash)
    optimizer_state_bytes: int = 0  # momentum / mini-batch sums (float per updated parameter)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        kb = lambda n: f"{n / 1024:8.1f} KB"  # noqa: E731
        return "\n".join([
            f"peak SRAM arena     {kb(self.arena_bytes)}",
            f"  activations+grads {kb(self.activation_peak_bytes)}",
            f"  updated weights   {kb(self.updated_weight_bytes)}",
            f"  optimizer state   {kb(self.optimizer_state_bytes)}",
            f"  op data           {kb(self.op_data_bytes)}",
            f"flash (model)       {kb(self.flash_model_bytes)}",
        ])


def compile_model(tflite_bytes: bytes, scheme: SparseUpdate | None = None, *,
                  loss: str = "cross_entropy", optimizer: SGD | None = None,
                  num_classes: int | None = None, seed: int = 0, input_source: bool = False):
    """Parse and compile without writing: (model object tree, graph, compiled step)."""
    model = read_model(tflite_bytes)
    if get_metadata(model, METADATA_NAME) is not None:
        raise ConversionError("this model is already an extended tflm-train model; convert the "
                              "original int8 .tflite (or export() it first)")
    if num_classes is not None:
        new_head.replace(model, num_classes, seed)
    graph = build_graph(model)
    float_io.check_io(graph)
    for t in graph.outputs:
        if not graph.tensors[t].shape:
            raise UnsupportedOpError(f"model output tensor {t} ({graph.tensors[t].name}) is a "
                                     "scalar; training needs a vector of class scores or targets")
    scheme = scheme or default_scheme(graph)
    updates = resolve(graph, scheme)
    if num_classes is not None:
        new_head.check_trained(graph, updates)
    step = compile_step(graph, updates, scheme, loss, optimizer, input_source=input_source)
    return model, graph, step


def convert(tflite_bytes: bytes, scheme: SparseUpdate | None = None, *,
            loss: str = "cross_entropy", optimizer: SGD | None = None,
            sram_budget: int | None = None, flash_budget: int | None = None,
            board: str | None = None, num_classes: int | None = None, seed: int = 0,
            input_source: bool = False) -> bytes:
    """Return the extended .tflite: the input model plus its training program.

    scheme: what to train (default: last layer's weights + biases of the last 3 layers).
    loss: "cross_entropy" (classification; softmax- or logits-ending models) or "mse"
        (regression heads; targets are given per step).
    optimizer: SGD(momentum=..., mini_batch=...); momentum or mini-batches > 1 cost a float
        per updated parameter (default: plain SGD, batch size 1, no extra memory).
    sram_budget, flash_budget: reject the scheme (BudgetError naming each part) if the whole
        step needs more bytes: SRAM = arena + session storage + stack bound + the firmware's
        static RAM; flash = this file + the firmware's code (tflm_train.budget).
    board: a board of tflm_train.boards ("nano33ble", "stm32f746" or their QEMU stand-ins):
        its SRAM and flash are the budgets (unless given) and its build is the one counted.
    num_classes: replace the final classifier with a fresh K-way one for new classes
        (converter/new_head.py: its initialisation and int8 ranges); the scheme must train its
        weights (weights={-1: 1}, as the default does). seed: its initial weights.
    """
    from tflm_train.budget import check_budget  # tflm_train.budget imports this package

    model, graph, step = compile_model(tflite_bytes, scheme, loss=loss, optimizer=optimizer,
                                       num_classes=num_classes, seed=seed,
                                       input_source=input_source)
    set_metadata(model, METADATA_NAME, step.program.encode())
    if get_metadata(model, offline_plan.METADATA_NAME) is None:  # keep a plan the user made
        set_metadata(model, offline_plan.METADATA_NAME,
                     offline_plan.encode(offline_plan.inference_offsets(graph)[0]))
    extended = write_model(model)
    check_budget(extended, sram_budget, flash_budget, board)
    _check_runtime_opens(extended)
    return extended


def _check_runtime_opens(extended: bytes) -> None:
    """One acceptance rule: the host runtime (the board's C++) opens what convert() returns, or
    convert() refuses the model with the runtime's own reason, as a converter error (the
    runtime checks every op's Prepare conditions, which the converter does not repeat)."""
    from tflm_train.binding import NativeSession, RuntimeFailure

    try:
        NativeSession(extended)
    except RuntimeFailure as e:
        kind = UnsupportedOpError if e.status == 2 else InvalidModelError
        raise kind(f"the runtime refuses this model: {e}") from None


def memory_report(extended: bytes) -> MemoryReport:
    """Memory report of an extended model, from its stored plan."""
    model = read_model(extended)
    blob = get_metadata(model, METADATA_NAME)
    if blob is None:
        raise ConversionError("not an extended tflm-train model (no 'tflm_train' metadata); "
                              "run convert() first")
    header = decode_header(blob)
    graph = build_graph(model)
    updated = state = 0
    for layer in decode_layers(blob):
        op = next(o for o in graph.ops if o.index == layer.op_index)
        for t in (layer.weight_tensor if layer.weight_channels else -1, layer.bias_tensor):
            if t >= 0:
                updated += align(trained_bytes(graph, op, layer, t), ALIGNMENT)
        if layer.weight_state >= 0:
            per_channel = graph.tensors[layer.weight_tensor].nbytes // layer.out_channels
            state += align(4 * layer.weight_channels * per_channel, ALIGNMENT)
        if layer.bias_state >= 0:
            state += align(4 * layer.out_channels, ALIGNMENT)
    return MemoryReport(arena_bytes=header["arena_bytes"],
                        activation_peak_bytes=header["arena_bytes"] - header["persistent_bytes"],
                        updated_weight_bytes=updated,
                        op_data_bytes=header["persistent_bytes"] - updated - state,
                        flash_model_bytes=len(extended), optimizer_state_bytes=state)


__all__ = ["convert", "compile_model", "memory_report", "MemoryReport", "SparseUpdate", "SGD",
           "LOSSES",
           "ConversionError", "InvalidModelError", "UnsupportedOpError", "BudgetError",
           "Graph", "CompiledStep", "Program"]
