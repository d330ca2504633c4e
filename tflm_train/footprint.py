"""What a board needs for an extended model: SRAM split into its parts, flash split into model
weights, the rest of the model file and firmware code. Used by `tflm-train inspect` and
bench/memory.

SRAM = the planned arena (activations + gradients peak, updated weights, optimizer state, op
data) + the runtime's session structure of this host build. The whole count on a board (session
storage as the target reserves it, a stack bound, the firmware's static RAM and code) is
tflm_train/budget.py's.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from .converter import memory_report
from .converter.graph import build_graph
from .converter.program import METADATA_NAME
from .converter.tflite_io import get_metadata, read_model


def session_bytes() -> int | None:
    """tt_session_size() of the host build (x86-64: 8-byte pointers, so a little more than on
    a Cortex-M); None if the host library is not built."""
    try:
        from .binding import _declare, library
        return int(_declare(library()).tt_session_size())
    except Exception:  # missing library: reported as unknown, not as zero
        return None


def sram_split(extended: bytes, runtime_bytes: int | None = None) -> dict:
    """SRAM parts in bytes. runtime_bytes: the session structure (default: host build)."""
    r = memory_report(extended)
    runtime = session_bytes() if runtime_bytes is None else runtime_bytes
    parts = {"activations_gradients": r.activation_peak_bytes,
             "updated_weights": r.updated_weight_bytes,
             "optimizer_state": r.optimizer_state_bytes,
             "op_data": r.op_data_bytes,
             "runtime_structures": runtime}
    # arena == the first four; checked so a new persistent part cannot go missing silently
    arena = r.activation_peak_bytes + r.updated_weight_bytes + r.optimizer_state_bytes + \
        r.op_data_bytes
    if arena != r.arena_bytes:
        parts["other_persistent"] = r.arena_bytes - arena
    parts["arena"] = r.arena_bytes
    parts["total"] = r.arena_bytes + (runtime or 0)
    parts["stack"] = None  # only a firmware run measures it
    return parts


def flash_split(extended: bytes, elf: str | Path | None = None) -> dict:
    """Flash parts in bytes: the model's constant tensors, its training program, the rest of
    the file (graph structure, quantisation parameters), and the firmware code if an ELF is
    given (its text + data, less the model's bytes when the ELF embeds this model)."""
    model = read_model(extended)
    graph = build_graph(model)
    weights = sum(t.nbytes for t in graph.tensors if t.is_constant)
    program = len(get_metadata(model, METADATA_NAME) or b"")
    parts = {"model_weights": weights, "training_program": program,
             "model_other": len(extended) - weights - program, "model_file": len(extended),
             "code": None, "total": len(extended)}
    if elf is not None:
        image = elf_image_bytes(elf)
        embedded = embeds(elf, extended)
        parts["code"] = image - (len(extended) if embedded else 0)
        parts["elf_embeds_model"] = embedded
        parts["total"] = len(extended) + parts["code"]
    return parts


def elf_image_bytes(elf: str | Path) -> int:
    """text + data of a firmware ELF: what it puts in flash (arm-none-eabi-size)."""
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    return int(out[0]) + int(out[1])


def embeds(elf: str | Path, blob: bytes) -> bool:
    """Whether the ELF file holds `blob` verbatim (an embedded model or data file)."""
    return blob in Path(elf).read_bytes()


__all__ = ["session_bytes", "sram_split", "flash_split", "elf_image_bytes", "embeds"]
