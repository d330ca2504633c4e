"""Training-memory bench over the model zoo: peak SRAM of one training step with full update,
sparse update, and sparse update + operator reordering (the paper's table columns), ours beside
the paper's, with the SRAM split, flash, and the goal (<= 0.85x the paper's sparse + reorder).

    python -m bench.memory [--models NAME ...] [--no-firmware] [--regenerate]

Prints tables and writes bench/results/memory.json, memory.png (ours vs paper per column) and
memory_timeline.png (live bytes over the MobileNetV2 training step).

What each number is (all planned by converter/pipeline.py at run time, nothing stored here):
- input source: every column is planned as tflm_train.convert(..., input_source=True) plans
  it: the input frame is read row by row from the caller's source (tt_set_input_source) where
  that lowers the arena, and never stored; "whole input" is the sparse + reorder plan that
  stores the frame (input_source=False), beside it with the same runtime structures and stack.
- sparse_reorder: exactly what tflm_train.convert(model, scheme, input_source=True) plans
  (each layer's update right after its gradient, weight gradients one output channel at a
  time).
- sparse: the same program planned without reordering: every updated layer's whole float32
  weight + bias gradient stays alive until the end of the backward pass
  (bench/variants.py).
- full_update: every conv / depthwise / FC layer's weights and bias trained, no reordering.
- inference_only: the forward pass alone, for reference.
- scheme: the paper's released ~50 KB scheme for the model (bench/zoo/schemes.py); the paper's
  table does not say which scheme it used. mnist_cnn has no paper scheme: the converter's
  default scheme, ours only.
- peak SRAM = arena (activations + gradients peak, updated weights, optimizer state, op data)
  + runtime structures (the session structure and the firmware's other static RAM) + stack,
  the last two measured by training each model's sparse + reorder program for a few steps in
  the zoo training firmware (bench/firmware/train_zoo, whose committed model must be that
  program byte for byte) on the first board whose RAM holds the plan (an386 = Nano 33 BLE
  stand-in, else an500 = STM32F746 stand-in), losses and trained bytes compared with the host
  build of the same driver. The stack is the high-water of the training steps; it is used for
  every column; a model that runs on no board has "not measured" and no stack in its totals.
- flash: the extended model file (weights / training program / rest) + code (that firmware's
  text + data less the embedded model and steps file).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

from bench.provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
COLUMNS = ("full_update", "sparse", "sparse_reorder")
WHOLE_INPUT = "sparse_reorder_whole_input"  # the input frame stored, for comparison
LABELS = {"full_update": "full update", "sparse": "sparse", "sparse_reorder": "sparse + reorder",
          "inference_only": "inference only", WHOLE_INPUT: "sparse + reorder, whole input"}
GOAL = 0.85  # ours <= GOAL x the paper's sparse + reorder peak
# Issue 18's memory floor, KB, classifier trained (arena + runtime structures + stack).
FLOOR_KB = {"mobilenetv2_w035": 100, "proxylessnas_w03": 100, "mcunet_like": 110}

# Paper Table (peak SRAM, KB, 128x128, batch 1, STM32F746); shared/notes/paper-facts.md.
PAPER_KB = {
    "mobilenetv2_w035": {"full_update": 2939, "sparse": 335, "sparse_reorder": 141},
    "proxylessnas_w03": {"full_update": 2745, "sparse": 326, "sparse_reorder": 135},
    "mcunet_like": {"full_update": 3650, "sparse": 560, "sparse_reorder": 173},
}
PAPER_NOTE = ("paper: Lin et al. 2022, peak SRAM table (MCUNet-5FPS row beside our MCUNet-like "
              "APPROXIMATION); the paper does not say which update scheme its table used, ours "
              "is measured at its released ~50 KB schemes")


def _scheme_dict(scheme) -> dict:
    return {"n_bias": scheme.n_bias, "weights": {str(k): v for k, v in scheme.weights.items()}}


def plan_columns(model: bytes, scheme) -> dict:
    """{variant: planned bytes and their parts} for one model, from the real planner."""
    import tflm_train
    from tflm_train.converter import memory_report
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.planner import align
    from tflm_train.converter.program import (ALIGNMENT, OP_STATE_BYTES, OP_STATE_KIND_BYTES,
                                              Flags)
    from tflm_train.converter.tflite_io import read_model
    from bench.variants import VARIANTS, plan_variant

    graph = build_graph(read_model(model))
    op_states = align(sum(OP_STATE_KIND_BYTES.get(op.kind, OP_STATE_BYTES) for op in graph.ops
                          if op.index not in graph.folded), ALIGNMENT)

    def trained_only(program) -> int:
        # what the updated tensors would take with only the trained output channels in SRAM
        # (biases whole): the bound for partial-channel weight storage
        total = 0
        for layer in program.layers:
            w = graph.tensors[layer.weight_tensor]
            total += w.nbytes // layer.out_channels * layer.weight_channels
            if layer.update_bias and layer.bias_tensor >= 0:
                total += graph.tensors[layer.bias_tensor].nbytes
        return total

    out = {}
    for v in VARIANTS + (WHOLE_INPUT,):
        step = (plan_variant(model, scheme, "sparse_reorder") if v == WHOLE_INPUT else
                plan_variant(model, scheme, v, input_source=True))
        p = step.program
        held = sum(b.size for b in step.buffers if isinstance(b.key, tuple))
        out[v] = {"arena_bytes": p.arena_bytes,
                  "activations_gradients_bytes": p.arena_bytes - p.persistent_bytes,
                  "held_gradient_bytes": held,  # inside activations_gradients (no reordering)
                  "updated_weight_bytes": step.updated_weight_bytes,
                  "trained_channel_bytes": trained_only(p),
                  "optimizer_state_bytes": step.optimizer_state_bytes,
                  "op_data_bytes": step.op_data_bytes,
                  "per_channel_data_bytes": max(0, step.op_data_bytes - op_states),
                  "instructions": len(p.instructions),
                  "input_streamed": bool(p.flags & Flags.INPUT_SOURCE)}
    # The sparse_reorder columns must be what convert() writes; check the variants agree.
    ext = tflm_train.convert(model, scheme, input_source=True)
    for column, written in (("sparse_reorder", memory_report(ext).arena_bytes),
                            (WHOLE_INPUT, memory_report(tflm_train.convert(model, scheme))
                             .arena_bytes)):
        if written != out[column]["arena_bytes"]:
            raise RuntimeError(f"plan_variant ({out[column]['arena_bytes']} B) and convert() "
                               f"({written} B) disagree on {column}")
    return out, ext


# ---- one model's row ---------------------------------------------------------------------------

def _schemes(name: str, model: bytes):
    from bench import zoo
    scheme = zoo.scheme(name)
    if scheme is not None:
        return scheme, "paper ~50 KB scheme (bench/zoo/schemes.py)"
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.scheme import default_scheme
    from tflm_train.converter.tflite_io import read_model
    return (default_scheme(build_graph(read_model(model))),
            "converter default scheme (no paper scheme for this model)")


def model_row(name: str, model: bytes, scheme, source: str, plans: dict, ext: bytes,
              fw: dict, fw_any: dict | None) -> dict:
    """One model: planned columns + what its firmware run measured (fw; fw_any: another
    model's run, for the model-independent runtime structures when this one did not run)."""
    from bench import zoo
    from tflm_train.footprint import flash_split, session_bytes

    measured = "error" not in fw
    ref = fw if measured else fw_any
    if ref is not None:
        runtime = ref["session_bytes"] + ref["board_static_bytes"]
        runtime_note = (f"session structure ({ref['session_bytes']} B) + the firmware's other "
                        f"static RAM ({ref['board_static_bytes']} B) on {ref['board']}, measured"
                        + ("" if measured else " with another model (model-independent)"))
    else:
        runtime = session_bytes()
        runtime_note = "tt_session_size() of the host (x86-64) build; no firmware run"
    stack = fw["stack_high_water_bytes"] if measured else None
    stack_note = (f"measured: stack high-water of {fw['steps']} training steps on {fw['board']}"
                  " (sparse + reorder program; used for every column)" if measured else
                  f"not measured ({fw['error'][:160]})")
    totals = {v: p["arena_bytes"] + (runtime or 0) + (stack or 0) for v, p in plans.items()}
    flash = flash_split(ext)
    code = ref["code_bytes"] if ref else None
    row = {"description": zoo.DESCRIPTIONS[name], "model_bytes": len(model),
           "scheme": _scheme_dict(scheme), "scheme_source": source,
           "plans": plans, "firmware": fw,
           "runtime_structures_bytes": runtime, "runtime_note": runtime_note,
           "stack_bytes": stack, "stack_note": stack_note,
           "peak_sram_bytes": totals,
           "peak_sram_includes_stack": stack is not None,
           "flash": {**flash, "code": code,
                     "total": flash["model_file"] + (code or 0),
                     "code_note": "text + data of the training firmware less its embedded "
                                  "model and steps file" if code is not None else
                                  "not measured (no firmware run)"}}
    paper = PAPER_KB.get(name)
    if paper:
        row["paper_kb"] = paper
        row["paper_note"] = PAPER_NOTE
        row["ratio_to_paper"] = {c: round(totals[c] / 1024 / paper[c], 3) for c in COLUMNS}
        goal_bytes = GOAL * paper["sparse_reorder"] * 1024
        row["goal"] = {"limit_bytes": int(goal_bytes),
                       "ours_bytes": totals["sparse_reorder"],
                       "ratio_to_paper_sparse_reorder": row["ratio_to_paper"]["sparse_reorder"],
                       "pass": totals["sparse_reorder"] <= goal_bytes,
                       "stack_included": stack is not None,
                       "whole_input_bytes": totals[WHOLE_INPUT],
                       "whole_input_ratio": round(totals[WHOLE_INPUT] / 1024 /
                                                  paper["sparse_reorder"], 3)}
        floor = FLOOR_KB.get(name)
        if floor is not None:  # issue 18's goal, on the same total
            row["issue18_goal"] = {"limit_bytes": floor * 1024,
                                   "ours_bytes": totals["sparse_reorder"],
                                   "whole_input_bytes": totals[WHOLE_INPUT],
                                   "pass": totals["sparse_reorder"] <= floor * 1024,
                                   "stack_included": stack is not None}
        # Sensitivity to our one addition to the paper's scheme: the new classifier's weights
        # (bench/zoo/schemes.py trains them; the paper lists backbone layers only).
        frozen = head_frozen_arena(model, scheme)
        total = frozen + (runtime or 0) + (stack or 0)
        row["classifier_weights_frozen"] = {
            "arena_bytes": frozen, "peak_sram_bytes": total,
            "ratio_to_paper_sparse_reorder": round(total / 1024 / paper["sparse_reorder"], 3),
            "pass": total <= goal_bytes,
            "note": "the same scheme with the classifier's bias trained but not its weights"}
    if name in FLOOR_KB:
        # Issue 18 item 3: momentum / mini-batch sums are an option; what it costs here.
        arena = optimizer_state_arena(model, scheme)
        total = arena + (runtime or 0) + (stack or 0)
        row["optimizer_state_option"] = {
            "arena_bytes": arena, "peak_sram_bytes": total,
            "extra_bytes": total - totals["sparse_reorder"],
            "stack_included": stack is not None,
            "note": "SGD(mini_batch=True) (momentum needs the same buffer): one float32 per "
                    "updated weight and bias, planned, with the sparse + reorder program's "
                    "runtime structures and stack"}
    return row


def optimizer_state_arena(model: bytes, scheme) -> int:
    """Planned arena of `scheme` with the optimizer state (momentum or mini-batch sums)."""
    import tflm_train
    from tflm_train.converter.optimizer import SGD

    return tflm_train.memory_report(tflm_train.convert(
        model, scheme, input_source=True, optimizer=SGD(mini_batch=True))).arena_bytes


def head_frozen_arena(model: bytes, scheme) -> int:
    """Planned arena of `scheme` without the last trainable layer's (the classifier's)
    weights; its bias stays trained through n_bias."""
    import dataclasses

    import tflm_train

    weights = dict(scheme.weights)
    weights.pop(max(weights, key=lambda k: k if k >= 0 else 10 ** 6), None)
    frozen = dataclasses.replace(scheme, weights=weights)
    return tflm_train.memory_report(tflm_train.convert(model, frozen, input_source=True)
                                    ).arena_bytes


# ---- the board's share -------------------------------------------------------------------------

def firmware_runs(exts: dict[str, bytes], workdir: Path, boards=None) -> dict:
    """{name: firmware numbers} for extended models {name: bytes}: the zoo training firmware of
    each model (bench/firmware/train_zoo; its committed model must be exactly that plan) on
    the first board of `boards` whose firmware arena holds the planned arena. Failures are
    reported per model as {"error": ...}."""
    from bench.zoo import train_firmware as fw
    from tflm_train import memory_report

    boards = tuple(fw.BOARD_ARENA) if boards is None else tuple(boards)
    out: dict = {}
    plan: dict[str, list[str]] = {}
    for name, ext in exts.items():
        committed = fw.MODELS_DIR / f"{name}.tflite"
        if not committed.exists() or committed.read_bytes() != ext:
            out[name] = {"error": f"{committed.relative_to(ROOT)} is not this plan (stale "
                                  "firmware input): rerun with --regenerate"}
            continue
        need = memory_report(ext).arena_bytes
        board = next((b for b in boards if need <= fw.BOARD_ARENA[b]), None)
        if board is None:
            out[name] = {"error": f"planned arena {need} B exceeds every firmware arena "
                                  f"({', '.join(f'{b} {fw.BOARD_ARENA[b]} B' for b in boards)})"}
        else:
            plan.setdefault(board, []).append(name)
    for board, names in plan.items():
        try:
            built = fw.build(board, names, workdir, profile=False)
        except RuntimeError as exc:
            out.update({n: {"error": str(exc)[-500:]} for n in names})
            continue
        for name, (elf, host) in built.items():
            text, rc = fw.run(board, elf)
            run = fw.parse(text, rc)
            static = fw.other_static_bytes(text, elf)
            keys = ("planned_arena_bytes", "session_bytes", "stack_high_water_bytes",
                    "stack_bytes")
            if "error" in run or static is None or any(run[k] is None for k in keys):
                out[name] = {"error": run.get("error") or f"incomplete report: {text[-300:]}"}
                continue
            if run["firmware_arena_bytes"] != fw.BOARD_ARENA[board]:  # the board choice used it
                out[name] = {"error": f"firmware arena {run['firmware_arena_bytes']} B != "
                                      f"train_firmware.BOARD_ARENA[{board!r}]: update it"}
                continue
            flash = fw.flash(elf, name)
            out[name] = {"planned_arena_bytes": run["planned_arena_bytes"],
                         "firmware_arena_bytes": run["firmware_arena_bytes"],
                         "session_bytes": run["session_bytes"],
                         # data + bss + heap besides the arena and the session storage buffer
                         "board_static_bytes": static,
                         # training's; the firmware's timed inference afterwards is not counted
                         "stack_high_water_bytes": run["stack_high_water_bytes"],
                         "stack_reserve_bytes": run["stack_bytes"],
                         "image_bytes": flash["flash_image_bytes"],
                         # the embedded model and steps file are data, not code
                         "code_bytes": flash["code_bytes"],
                         "board": board,
                         "steps": len(re.findall(r"^step \d+ ", text, re.M)),
                         # losses, every trained tensor's bytes and their checksum
                         "losses_equal_host": fw.host_equals_board(text, host)}
    return {n: out[n] for n in exts}


# ---- output ---------------------------------------------------------------------------------

def _kb(n) -> str:
    return "n/m" if n is None else f"{n / 1024:.1f}"


def _print(headers: list[str], rows: list[list[str]], title: str) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    for cells in [headers] + rows:  # first column left-aligned, numbers right-aligned
        print("  ".join(c.rjust(w) if i else c.ljust(w)
                        for i, (c, w) in enumerate(zip(cells, widths))))


def print_tables(rows: dict) -> None:
    lines = []
    for name, r in rows.items():
        p = r.get("paper_kb", {})
        cells = [name + ("" if r["peak_sram_includes_stack"] else " *")]
        for c in COLUMNS:
            cells += [_kb(r["peak_sram_bytes"][c]), str(p.get(c, "-"))]
        g = r.get("goal")
        f = r.get("issue18_goal")
        cells += [f"{g['ratio_to_paper_sparse_reorder']:.2f}x" if g else "-",
                  ("PASS" if g["pass"] else "FAIL") if g else "-",
                  _kb(r["peak_sram_bytes"][WHOLE_INPUT]),
                  (f"<= {f['limit_bytes'] // 1024} " + ("PASS" if f["pass"] else "FAIL"))
                  if f else "-",
                  _kb(r["peak_sram_bytes"]["inference_only"]),
                  _kb(r["flash"]["model_file"]), _kb(r["flash"]["code"])]
        lines.append(cells)
    _print(["model", "full ours", "paper", "sparse ours", "paper", "s+reorder ours", "paper",
            "vs paper", f"<= {GOAL}x", "whole input", "issue 18", "inference", "flash model",
            "code"], lines,
           "peak SRAM, KB (ours = arena + runtime structures [+ stack], input rows from the "
           "source; whole input: the frame stored); paper = Lin et al. 2022 table, scheme "
           "unknown; ours at the paper's ~50 KB schemes")
    for name, r in rows.items():
        if "classifier_weights_frozen" in r:
            f = r["classifier_weights_frozen"]
            print(f"  {name}: with the classifier's weights frozen (bias trained; the paper's "
                  f"scheme lists backbone layers only) {_kb(f['peak_sram_bytes'])} KB = "
                  f"{f['ratio_to_paper_sparse_reorder']:.2f}x, "
                  f"{'PASS' if f['pass'] else 'FAIL'}")
    for name, r in rows.items():
        if "optimizer_state_option" in r:
            o = r["optimizer_state_option"]
            print(f"  {name}: with momentum / mini-batch state {_kb(o['peak_sram_bytes'])} KB "
                  f"(+{_kb(o['extra_bytes'])} KB)")
    if not all(r["peak_sram_includes_stack"] for r in rows.values()):
        print("  * stack not measured for this model (not included in its totals)")
    print("  n/m = not measured; mcunet_like is an APPROXIMATION of MCUNet-5FPS")
    lines = []
    for name, r in rows.items():
        for c in ("sparse_reorder", WHOLE_INPUT, "sparse", "full_update"):
            p = r["plans"][c]
            lines.append([f"{name} {LABELS[c]}", _kb(p["arena_bytes"]),
                          _kb(p["activations_gradients_bytes"]), _kb(p["held_gradient_bytes"]),
                          _kb(p["updated_weight_bytes"]), _kb(p["trained_channel_bytes"]),
                          _kb(p["optimizer_state_bytes"]),
                          _kb(p["op_data_bytes"]), _kb(p["per_channel_data_bytes"]),
                          _kb(r["runtime_structures_bytes"]), _kb(r["stack_bytes"])])
    _print(["model / column", "arena", "act+grads", "(held grads)", "upd. weights",
            "(trained ch.)", "opt. state",
            "op data", "(per-channel)", "runtime", "stack"], lines,
           "SRAM split, KB (held grads: whole weight gradients kept without reordering, part of "
           "act+grads; trained ch.: updated weights if only the trained channels were in SRAM)")
    lines = []
    for name, r in rows.items():
        f = r["firmware"]
        lines.append([name] + ([f["error"][:90]] if "error" in f else [
            f["board"], f"{f['planned_arena_bytes']:,}", f"{f['firmware_arena_bytes']:,}",
            str(f["session_bytes"]), str(f["board_static_bytes"]),
            str(f["stack_high_water_bytes"]), f"{f['code_bytes']:,}", f"{f['image_bytes']:,}",
            str(f["losses_equal_host"])[:20]]))
    width = max(len(x) for x in lines)
    lines = [x + [""] * (width - len(x)) for x in lines]
    _print(["model", "board", "arena planned", "firmware arena", "session", "static",
            "stack", "code", "flash image", "losses == host"][:width], lines,
           "training firmware runs (bench/firmware/train_zoo, sparse + reorder program, "
           "bytes)")


def plot_columns(rows: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in rows if "paper_kb" in rows[n]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, c in zip(axes, COLUMNS):
        xs = range(len(names))
        ours = [rows[n]["peak_sram_bytes"][c] / 1024 for n in names]
        paper = [rows[n]["paper_kb"][c] for n in names]
        ax.bar([x - 0.2 for x in xs], ours, 0.4, label="ours")
        ax.bar([x + 0.2 for x in xs], paper, 0.4, label="paper", color="gray")
        if c == "sparse_reorder":
            ax.scatter(xs, [GOAL * p for p in paper], marker="_", s=600, color="red",
                       label=f"goal {GOAL}x paper", zorder=3)
            ax.scatter([x - 0.2 for x in xs],
                       [rows[n]["peak_sram_bytes"][WHOLE_INPUT] / 1024 for n in names],
                       marker="_", s=300, color="black", label="ours, whole input", zorder=3)
            ax.scatter(xs, [FLOOR_KB.get(n, float("nan")) for n in names], marker="_", s=600,
                       color="green", label="issue 18 goal", zorder=3)
        ax.set_xticks(list(xs), [n.replace("_", "\n", 1) for n in names], fontsize=8)
        ax.set_title(LABELS[c])
        ax.set_ylabel("peak SRAM (KB)")
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8, loc="lower right")  # the goal marker
    fig.suptitle("training-step peak SRAM, ours (planned arena + runtime structures + stack) vs "
                 "paper (scheme unknown; ours at its ~50 KB schemes; mcunet = approximation)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_timeline(name: str, path: Path) -> None:
    """Live bytes (persistent region + live activation-region buffers) per instruction of the
    training step, with and without operator reordering."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench import zoo
    from tflm_train.converter.planner import peak_live_bytes
    from bench.variants import plan_variant

    fig, ax = plt.subplots(figsize=(10, 4))
    for v, color in (("sparse", "tab:orange"), (WHOLE_INPUT, "tab:gray"),
                     ("sparse_reorder", "tab:blue")):
        step = (plan_variant(zoo.load(name), zoo.scheme(name), "sparse_reorder")
                if v == WHOLE_INPUT else
                plan_variant(zoo.load(name), zoo.scheme(name), v, input_source=True))
        base = step.program.persistent_bytes
        curve = [(base + c) / 1024 for c in peak_live_bytes(step.buffers)]
        ax.step(range(len(curve)), curve, where="post", color=color,
                label=f"{LABELS[v]} (planned arena {step.program.arena_bytes / 1024:.0f} KB)")
        ax.axhline(step.program.arena_bytes / 1024, color=color, ls=":", lw=1)
    step = plan_variant(zoo.load(name), zoo.scheme(name), "sparse_reorder", input_source=True)
    # the persistent region under the curves (same for both variants), by part
    n = len(step.program.instructions)
    bands = (("op data", step.op_data_bytes, "#dddddd"),
             ("updated weights", step.updated_weight_bytes, "#bbbbdd"),
             ("optimizer state", step.optimizer_state_bytes, "#ddbbbb"))
    low = 0.0
    for label, size, color in bands:
        if size:
            ax.fill_between([0, n - 1], low, low + size / 1024, color=color, step="post",
                            label=f"persistent: {label} {size / 1024:.0f} KB")
            low += size / 1024
    ax.axvline(step.program.n_forward - 0.5, color="gray", ls="--", lw=1)
    ax.text(step.program.n_forward, ax.get_ylim()[1] * 0.97, " backward + updates", va="top",
            fontsize=8)
    if name in PAPER_KB:
        ax.axhline(GOAL * PAPER_KB[name]["sparse_reorder"], color="red", lw=1,
                   label=f"goal: {GOAL} x paper sparse + reorder")
    ax.set_xlabel("instruction of the training step")
    ax.set_ylabel("live SRAM in the arena (KB)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{name}, paper ~50 KB scheme, input from the source unless 'whole input': "
                 "persistent + live buffers (dotted: planned arena)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    from bench import zoo
    from bench.zoo import train_firmware

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="*", default=list(zoo.NAMES), choices=list(zoo.NAMES))
    p.add_argument("--no-firmware", action="store_true",
                   help="planner only: no Bazel / QEMU (runtime structures from the host "
                        "library; stack and code not measured)")
    p.add_argument("--regenerate", action="store_true",
                   help="rewrite the training firmware's inputs (bench/firmware/train_zoo/"
                        "generate.py) first")
    p.add_argument("--out", type=Path, default=RESULTS / "memory.json")
    args = p.parse_args(argv)

    names = args.models
    if args.regenerate:
        train_firmware.generator().main(["--models", *names])
    models = {n: zoo.load(n) for n in names}
    schemes = {n: _schemes(n, models[n]) for n in names}
    planned = {n: plan_columns(models[n], schemes[n][0]) for n in names}
    if args.no_firmware:
        fws = {n: {"error": "skipped (--no-firmware)"} for n in names}
    else:
        print("building and running the training firmware per model "
              "(bench/firmware/train_zoo) ...", flush=True)
        with tempfile.TemporaryDirectory() as d:
            fws = firmware_runs({n: planned[n][1] for n in names}, Path(d))
    fw_any = next((f for f in fws.values() if "error" not in f), None)
    rows = {n: model_row(n, models[n], *schemes[n], *planned[n], fws[n], fw_any)
            for n in names}
    print_tables(rows)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    plots = {"columns": args.out.with_suffix(".png")}
    plot_columns(rows, plots["columns"])
    if "mobilenetv2_w035" in rows:
        plots["timeline"] = args.out.with_name(args.out.stem + "_timeline.png")
        plot_timeline("mobilenetv2_w035", plots["timeline"])
    doc = {
        **provenance("memory", argv,
                     ["converter", "tflm_train", "kernels", "bench/zoo",
                      "bench/firmware/train_zoo", "examples/firmware/train", "targets"]),
        "host": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "notes": [" ".join(item.split()) for item in __doc__.split("What each number is")[1]
                  .split("\n- ")[1:]] + [PAPER_NOTE, "KB = 1024 bytes"],
        "goal": f"sparse_reorder peak SRAM <= {GOAL} x the paper's sparse + reorder",
        "firmware_arena_bytes": train_firmware.BOARD_ARENA,
        "plots": {k: str(v.relative_to(ROOT)) if v.is_relative_to(ROOT) else str(v)
                  for k, v in plots.items()},
        "models": rows,
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}, " + ", ".join(str(v) for v in plots.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
