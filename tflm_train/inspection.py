"""Human-readable descriptions of plain and extended models, and a memory-over-time plot."""
from __future__ import annotations

from .converter import SGD, compile_model, memory_report
from .converter.graph import build_graph
from .converter.new_head import new_head_info
from .converter.program import METADATA_NAME, Flags, decode_header, decode_layers
from .converter.tflite_io import get_metadata, read_model
from .footprint import flash_split, sram_split


def describe(model_bytes: bytes, elf: str | None = None, board: str | None = None) -> dict:
    """Ops, trainable layers, and for an extended model its plan and what it needs on a board
    (SRAM and flash split; firmware code only if `elf`, a firmware ELF, is given) and the whole
    count per board (`board`, or every board of tflm_train.boards); `text` is for people."""
    model = read_model(model_bytes)
    graph = build_graph(model)
    lines = [f"{len(graph.ops)} ops, {len(graph.tensors)} tensors, {len(model_bytes)} bytes"]
    for op in graph.ops:
        t_out = graph.tensors[op.outputs[0]]
        lines.append(f"  op {op.index:3d} {op.kind:18s} -> {list(t_out.shape)} "
                     f"{op.activation if op.kind in ('CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED') else ''}")
    layers = []
    lines.append("trainable layers (index, negative index, weight tensor, shape):")
    trainable = graph.trainable_ops()
    head = new_head_info(model)
    for i, op in enumerate(trainable):
        w = graph.tensors[op.inputs[1]]
        new = head is not None and head["op"] == op.index
        layers.append({"index": i, "op": op.index, "kind": op.kind, "weight": w.name,
                       "shape": list(w.shape), "new": new})
        lines.append(f"  {i:3d} {i - len(trainable):4d}  {op.kind:18s} {w.name} {list(w.shape)}"
                     + (f"  NEW {head['num_classes']}-way classifier (replaced a "
                        f"{head['replaced_classes']}-way one; seed {head['seed']})" if new else ""))
    info = {"ops": [op.kind for op in graph.ops], "trainable_layers": layers}
    if head is not None:
        info["new_head"] = head
    blob = get_metadata(model, METADATA_NAME)
    if blob is not None:
        header = decode_header(blob)
        report = memory_report(model_bytes)
        info["program"] = {k: v for k, v in header.items() if k != "magic"}
        info["memory"] = report.as_dict()
        lines.append(f"training program v{header['version']}: {header['n_instructions']} "
                     f"instructions ({header['n_forward']} forward), {header['n_layers']} "
                     f"updated layers, QAS {'on' if header['flags'] & 1 else 'off'}")
        info["updated_layers"] = updated_layers(blob, [op.index for op in trainable])
        lines += [f"  layer {u['index']:3d} {u['index'] - len(trainable):4d}  weights "
                  f"{u['weight_channels']:4d} of {u['out_channels']:4d} channels, bias "
                  f"{'updated' if u['bias'] else 'frozen'}" for u in info["updated_layers"]]
        info["sram"], info["flash"] = sram_split(model_bytes), flash_split(model_bytes, elf)
        lines += split_lines(info["sram"], info["flash"])
        info["budget"] = whole_count(model_bytes, board)
        lines += budget_lines(info["budget"])
    else:
        lines.append("not extended: run `tflm-train convert` to make it trainable")
    info["text"] = "\n".join(lines)
    return info


def updated_layers(blob: bytes, trainable_ops: list[int]) -> list[dict]:
    """What the program updates, per trainable layer (index as in SparseUpdate.weights)."""
    return [{"index": trainable_ops.index(l.op_index), "op": l.op_index,
             "weight_channels": l.weight_channels, "out_channels": l.out_channels,
             "bias": bool(l.update_bias)} for l in decode_layers(blob)]


def split_lines(sram: dict, flash: dict) -> list[str]:
    """The SRAM / flash split as text lines (unknown parts say why)."""
    kb = lambda n: "   unknown" if n is None else f"{n / 1024:7.1f} KB"  # noqa: E731
    runtime = sram["runtime_structures"]
    lines = [f"peak SRAM             {kb(sram['total'])}  (arena + runtime structures of "
             "this host; the whole count per board follows)",
             f"  arena               {kb(sram['arena'])}",
             f"    activations+grads {kb(sram['activations_gradients'])}",
             f"    updated weights   {kb(sram['updated_weights'])}",
             f"    optimizer state   {kb(sram['optimizer_state'])}",
             f"    op data           {kb(sram['op_data'])}"]
    if "other_persistent" in sram:
        lines.append(f"    other persistent  {kb(sram['other_persistent'])}")
    lines.append(f"  runtime structures  {kb(runtime)}" + (
        "  (tt_session_size of the host build)" if runtime is not None else
        "  (host library not built: scripts/build_host.sh)"))
    code = flash["code"]
    lines += [f"flash                 {kb(flash['total'])}" + (
                  "" if code is not None else "  (model file only; --elf FIRMWARE adds code)"),
              f"  model weights       {kb(flash['model_weights'])}",
              f"  training program    {kb(flash['training_program'])}",
              f"  rest of the model   {kb(flash['model_other'])}"]
    if code is not None:
        note = ("  (ELF text+data less this model)" if flash.get("elf_embeds_model") else
                "  (ELF text+data; it does not embed this model)")
        lines.append(f"  code                {kb(code)}{note}")
    return lines


def whole_count(model_bytes: bytes, board: str | None = None) -> dict:
    """{board: SRAM and flash needed (tflm_train.budget) beside the board's sizes}."""
    from .boards import BOARDS, board as find_board
    from .budget import flash_needed, sram_needed

    chosen = [find_board(board)] if board is not None else list(BOARDS.values())
    return {b.name: {"sram": sram_needed(model_bytes, b), "flash": flash_needed(model_bytes, b),
                     "sram_bytes": b.sram_bytes, "flash_bytes": b.flash_bytes} for b in chosen}


def budget_lines(counts: dict) -> list[str]:
    """The whole count per board as text lines."""
    kb = lambda n: f"{n / 1024:.1f}"  # noqa: E731
    lines = ["whole count per board, KB (SRAM: arena + session storage + stack bound + firmware "
             "static RAM; flash: model file + firmware code):"]
    for name, c in counts.items():
        for kind, size in (("sram", "sram_bytes"), ("flash", "flash_bytes")):
            need = c[kind]
            parts = " + ".join(f"{k.replace('_', ' ')} {kb(v)}" for k, v in need.items()
                               if k not in ("total", "board"))
            room = c[size] - need["total"]
            verdict = f"fits, {kb(room)} free" if room >= 0 else f"OVER by {kb(-room)}"
            label = "SRAM " if kind == "sram" else "flash"
            lines.append(f"  {name if kind == 'sram' else '':10s} {label} {kb(need['total']):>7} "
                         f"of {kb(c[size])} = {parts}  ({verdict})")
    return lines


def plot_memory(model_bytes: bytes, path: str) -> None:
    """Bytes live in the activation region at each step of the training program (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .converter.planner import peak_live_bytes

    step = replan(model_bytes)
    stored = memory_report(model_bytes).arena_bytes
    # e.g. a model converted by an older planner: say so on the plot rather than mislead
    mismatch = "" if step.program.arena_bytes == stored else (
        f"\nreplanned arena {step.program.arena_bytes} B != stored {stored} B: reconvert")
    curve = peak_live_bytes(step.buffers)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.step(range(len(curve)), [c / 1024 for c in curve], where="post")
    ax.axvline(step.program.n_forward - 0.5, color="gray", ls="--", lw=1)
    ax.text(step.program.n_forward, max(curve) / 1024 * 0.95, " backward + updates",
            va="top", fontsize=8)
    ax.set_xlabel("instruction")
    ax.set_ylabel("live activations + gradients (KB)")
    ax.set_title(f"training step memory (persistent {step.program.persistent_bytes / 1024:.1f} KB "
                 f"not shown){mismatch}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def replan(model_bytes: bytes):
    """The CompiledStep (buffers with lifetimes) of an extended model, recompiled from its
    inference graph with the stored scheme, optimizer memory and loss."""
    from .converter.tflite_io import remove_metadata, write_model

    model = read_model(model_bytes)
    blob = get_metadata(model, METADATA_NAME)
    if blob is None:
        raise ValueError("plot needs an extended model (tflm-train convert)")
    flags = decode_header(blob)["flags"]
    # momentum and mini-batch sums cost the same float per parameter: either reproduces the plan
    optimizer = SGD(mini_batch=True) if flags & Flags.OPTIMIZER_STATE else None
    loss = "mse" if flags & Flags.LOSS_MSE else "cross_entropy"
    scheme = _scheme_from(model_bytes)
    remove_metadata(model, METADATA_NAME)
    return compile_model(write_model(model), scheme, loss=loss, optimizer=optimizer)[2]


def _scheme_from(model_bytes: bytes):
    """Rebuild the SparseUpdate an extended model was converted with, from its layer table."""
    from .converter.program import decode_layers
    from .converter.scheme import SparseUpdate
    model = read_model(model_bytes)
    graph = build_graph(model)
    blob = get_metadata(model, METADATA_NAME)
    h = decode_header(blob)
    trainable = [op.index for op in graph.trainable_ops()]
    weights, bias_layers = {}, []
    for layer in decode_layers(blob):
        pos = trainable.index(layer.op_index)
        cout, k = layer.out_channels, layer.weight_channels
        if k:
            ratio = min((r for r in (1 / 8, 1 / 4, 1 / 2, 1.0)), key=lambda r: abs(r * cout - k))
            weights[pos] = ratio
        if layer.update_bias and not k:
            bias_layers.append(pos)
    n_bias = len(trainable) - min(bias_layers) if bias_layers else 0
    return SparseUpdate(n_bias=n_bias, weights=weights, qas=bool(h["flags"] & Flags.QAS))
