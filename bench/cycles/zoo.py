"""Estimated cycles of the zoo training firmware (examples/firmware/train_zoo), for bench/mcu:
per training step and per inference, milliseconds at each board's clock, cycles per class of
work (forward by kernel, backward, update, data movement, runtime), per program opcode, and the
MAC floors those classes are measured against.

The firmware is the one bench/mcu measures in instructions; the QEMU run here adds the
block_counts plugin (bench/cycles/trace.py) and prices it with bench/cycles/model.py (and the
M7 point estimate with bench/cycles/m7_issue.py).
"""
from __future__ import annotations

import re
import statistics
import struct
from functools import lru_cache
from pathlib import Path

from bench.cycles import m7_issue, trace
from tflm_train.boards import STANDINS

ROOT = Path(__file__).resolve().parents[2]
# Which cycle estimates each board gets: the Nano 33 BLE stand-in runs the M4 build, the
# STM32F746 stand-in the M7 build (model.py and m7_issue.py say what each variant assumes).
BOARD_VARIANTS = {"an386": ("m4", "m4_low", "m4_high"),
                  "an500": ("m7_low", "m7", "m7_est_low", "m7_est_high", "m7_high")}
BOARD_POINT = {"an386": "m4", "an500": "m7"}
# The M7's point estimate, its range (branch assumptions) and its bounds (est_cycles_m7).
M7_POINT, M7_RANGE = m7_issue.POINT, ("m7_est_low", "m7_est_high")
M7_BOUNDS = ("m7_low", "m7_high")

# Where a function's source lives decides its class (first match); names decide before that.
_CLASS_BY_NAME = [(re.compile(r"^(memcpy|memmove|memset)$"), "data movement"),
                  (re.compile(r"Update|^tflm_train::Sgd"), "update"),
                  (re.compile(r"^__"), "libgcc (float/double helpers)")]
_CLASS_BY_FILE = [("kernels/training/sgd_update", "update"),
                  ("kernels/training/", "backward"),
                  ("tflm_train/runtime/block_backward", "backward"),
                  ("kernels/conv_pointwise_dsp", "forward conv 1x1"),
                  ("kernels/depthwise", "forward depthwise"),
                  ("kernels/conv", "forward conv (stem, other)"),
                  ("kernels/row_stream", "data movement"),
                  ("kernels/", "forward other"),
                  ("tflm_train/runtime/", "runtime (program, model reader, dispatch)")]
CLASSES = ["forward conv 1x1", "forward depthwise", "forward conv (stem, other)",
           "forward other", "backward", "update", "data movement",
           "runtime (program, model reader, dispatch)", "libgcc (float/double helpers)", "other"]
FORWARD_CLASSES = CLASSES[:4]


def _base_name(demangled: str) -> str:
    name = demangled.replace("(anonymous namespace)", "anon")
    name = name.split("(")[0]
    name = re.sub(r"<[^<>]*>", "", re.sub(r"<[^<>]*>", "", name))
    return name.split()[-1].split("::")[-1] if name.split() else name


@lru_cache(maxsize=1)
def _sources() -> list[tuple[str, list[str]]]:
    out = []
    for d in ("kernels", "tflm_train/runtime"):
        for p in sorted((ROOT / d).rglob("*")):
            if p.suffix in (".cc", ".h"):
                out.append((str(p.relative_to(ROOT)), p.read_text().splitlines()))
    return out


@lru_cache(maxsize=None)
def function_class(demangled: str) -> str:
    """The class of work of an ELF function: by name for the C library and libgcc, else by
    the source file defining it (a line starting in column 0 with `...Name(`)."""
    for pattern, cls in _CLASS_BY_NAME:
        if pattern.search(demangled):
            return cls
    base = _base_name(demangled)
    pat = re.compile(r"^\S.*\b%s\s*\(" % re.escape(base))
    files = [f for f, lines in _sources() if any(pat.match(l) for l in lines)]
    files.sort(key=lambda f: not f.endswith(".cc"))
    for f in files:
        for prefix, cls in _CLASS_BY_FILE:
            if f.startswith(prefix):
                return cls
    return "other"


def _program(tflite: bytes) -> tuple[list, list]:
    """(layers as (op_index, out_channels, weight_channels), instructions as (opcode, args))
    of an extended model's training program."""
    from tflm_train.converter.program import METADATA_NAME, decode_header
    from tflm_train.converter.tflite_io import get_metadata, read_model

    blob = get_metadata(read_model(tflite), METADATA_NAME)
    h = decode_header(blob)
    words = struct.unpack(f"<{len(blob) // 4}i", blob[: len(blob) // 4 * 4])
    layers = [(words[h["off_layers"] + 10 * k], words[h["off_layers"] + 10 * k + 3],
               words[h["off_layers"] + 10 * k + 4]) for k in range(h["n_layers"])]
    ins, at = [], h["off_instructions"]
    for _ in range(h["n_instructions"]):
        op, n = words[at], words[at + 1]
        ins.append((op, list(words[at + 2: at + 2 + n])))
        at += 2 + n
    return layers, ins


def macs(tflite: bytes) -> dict:
    """Multiply-accumulates of one training step: forward by kernel class, and backward of the
    trained part (input gradients of every op the program back-propagates through, same
    count as its forward; weight gradients of the trained output channels)."""
    from bench.forward import op_macs
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.program import Opcode
    from tflm_train.converter.tflite_io import read_model

    graph = build_graph(read_model(tflite))
    fwd = {"conv 1x1": 0, "depthwise": 0, "conv (stem, other)": 0, "fully connected": 0}
    for op in graph.ops:
        n = op_macs(graph, op)
        if op.kind == "DEPTHWISE_CONV_2D":
            fwd["depthwise"] += n
        elif op.kind == "FULLY_CONNECTED":
            fwd["fully connected"] += n
        elif op.kind == "CONV_2D":
            w = graph.tensors[op.inputs[1]].shape
            fwd["conv 1x1" if w[1] == w[2] == 1 else "conv (stem, other)"] += n
    layers, program = _program(tflite)
    grad_in = set()
    for opcode, a in program:
        if opcode in (Opcode.INPUT_GRAD, Opcode.DEPTHWISE_GRAD_IN_PLACE):
            grad_in.add(a[0])
        elif opcode == Opcode.MEAN_HEAD_BACKWARD and a[4] >= 0:
            grad_in.add(a[0])
        elif opcode == Opcode.BOTTLENECK_BACKWARD:
            grad_in.update([a[0], a[1]] + ([a[2]] if a[4] >= 0 else []))
    input_grad = sum(op_macs(graph, graph.ops[i]) for i in grad_in)
    weight_grad = sum(op_macs(graph, graph.ops[op]) * wc // oc for op, oc, wc in layers if wc)
    return {"forward": fwd, "forward_total": sum(fwd.values()),
            "backward_input_grad": input_grad, "backward_weight_grad": weight_grad,
            "backward_total": input_grad + weight_grad}


def _variant_cycles(pricer: trace.Pricer, counts: dict, board: str) -> dict:
    insns = pricer.instructions(counts)
    out = {}
    for v in BOARD_VARIANTS[board]:
        if v == "m7_low":
            out[v] = (insns + 1) // 2
        else:
            out[v] = pricer.cycles(counts, v)
    return out


def _classes(pricer, counts, board, syms) -> dict:
    """{class: {variant: cycles}} (m7_low: half the class's instructions)."""
    out = {c: {v: 0 for v in BOARD_VARIANTS[board]} for c in CLASSES}
    fn_insns = _by_function_instructions(pricer, counts, syms)
    for v in BOARD_VARIANTS[board]:
        if v == "m7_low":
            for fn, n in fn_insns.items():
                out[function_class(fn)][v] += n / 2
            continue
        for fn, n in pricer.by_function(counts, v, syms).items():
            out[function_class(fn)][v] += n
    return {c: {v: round(n) for v, n in d.items()} for c, d in out.items()}


def _by_function_instructions(pricer, counts, syms) -> dict:
    import bisect

    starts = [a for a, _, _ in syms]
    out: dict = {}
    for i, (n, _) in counts.items():
        for addr, _, _ in pricer.insns[i]:
            j = bisect.bisect_right(starts, addr) - 1
            name = syms[j][2] if j >= 0 else "?"
            out[name] = out.get(name, 0) + n
    return out


def measure(board: str, name: str, elf: Path, profile_elf: Path | None,
            tflite: Path) -> dict:
    """Cycle estimates of one zoo training firmware (and its profile build) on one board."""
    syms = trace.symbols(elf)
    t_train, t_invoke = trace.address_of(syms, "tt_train"), trace.address_of(syms, "tt_invoke")
    run = trace.run(board, elf, [t_train, t_invoke])
    if run.rc != 0:
        return {"error": f"exit {run.rc}: {run.output[-300:]}"}
    pricer = trace.Pricer(run.blocks)
    steps = trace.calls(run, t_train)
    (invoke,) = trace.calls(run, t_invoke)
    step_cycles = [_variant_cycles(pricer, c, board) for c in steps]
    variants = BOARD_VARIANTS[board]
    mean = {v: round(statistics.mean(s[v] for s in step_cycles)) for v in variants}
    infer = _variant_cycles(pricer, invoke, board)
    spec = STANDINS[board]  # the real board this stand-in builds for (tflm_train/boards.py)
    board_name, mhz = spec.title, spec.clock_hz // 1_000_000
    row = {
        "variants": {v: trace.DESCRIPTION[v] for v in variants},
        "point_estimate": BOARD_POINT[board],
        "plugin_instructions": {"tt_train": [pricer.instructions(c) for c in steps],
                                "inference": pricer.instructions(invoke)},
        "tt_train_cycles": step_cycles, "tt_train_cycles_mean": mean,
        "inference_cycles": infer,
        "clock": {"board": board_name, "mhz": mhz},
        "tt_train_ms": {v: round(c / (mhz * 1000), 1) for v, c in mean.items()},
        "inference_ms": {v: round(c / (mhz * 1000), 1) for v, c in infer.items()},
        "tt_train_cycles_by_class": _classes(pricer, steps[-1], board, syms),
        "unpriced_mnemonics": pricer.unknown,
    }
    top = pricer.by_function(steps[-1], "m4", syms)
    row["hottest_functions_m4_table"] = [
        {"function": f[:120], "cycles": n, "class": function_class(f)}
        for f, n in sorted(top.items(), key=lambda kv: -kv[1])[:12]]
    if M7_POINT in variants:
        row["est_cycles_m7"] = est_cycles_m7(mean, infer, mhz)
        top = pricer.by_function(steps[-1], M7_POINT, syms)
        row["hottest_functions_m7_point"] = [
            {"function": f[:120], "cycles": n, "class": function_class(f)}
            for f, n in sorted(top.items(), key=lambda kv: -kv[1])[:12]]
        # where the point estimate's cycles go inside those functions: each hot block's dual
        # issue (instructions per cycle, 2.0 at most) and its empty issue slots by reason
        row["hottest_blocks_m7_point"] = pricer.hottest_blocks(steps[-1], M7_POINT, syms, 12)
    m = macs(tflite.read_bytes())
    row["macs"] = m
    row["floors"] = floors(m, row["tt_train_cycles_by_class"], mean, variants)
    if profile_elf is not None:
        row["profile_cycles"] = profile(board, profile_elf)
    return row


def est_cycles_m7(step: dict, infer: dict, mhz: int) -> dict:
    """The M7 point estimate of a training step and an inference beside its range and its
    bounds, cycles and milliseconds at the board's clock."""
    def one(c: dict) -> dict:
        return {"cycles": c[M7_POINT], "ms": round(c[M7_POINT] / (mhz * 1000), 1),
                "range": [c[v] for v in M7_RANGE], "bounds": [c[v] for v in M7_BOUNDS]}
    return {"tt_train": one(step), "inference": one(infer)}


def floors(m: dict, by_class: dict, step: dict, variants) -> dict:
    """Cycle floors (2 int8 MACs per cycle with SMLAD; one float multiply-add per cycle) and
    each class's estimated cycles over its floor."""
    def ratio(cyc: dict, floor: float) -> dict:
        return {v: round(cyc[v] / floor, 2) if floor else None for v in variants}

    fwd_floor = m["forward_total"] / 2
    bwd_floor = m["backward_total"]
    fwd = {v: sum(by_class[c][v] for c in FORWARD_CLASSES) for v in variants}
    out = {
        "forward": {"macs": m["forward_total"], "floor_cycles": round(fwd_floor),
                    "over_floor": ratio(fwd, fwd_floor)},
        "conv 1x1": {"macs": m["forward"]["conv 1x1"],
                     "floor_cycles": round(m["forward"]["conv 1x1"] / 2),
                     "over_floor": ratio(by_class["forward conv 1x1"],
                                         m["forward"]["conv 1x1"] / 2)},
        "depthwise": {"macs": m["forward"]["depthwise"],
                      "floor_cycles": round(m["forward"]["depthwise"] / 2),
                      "over_floor": ratio(by_class["forward depthwise"],
                                          m["forward"]["depthwise"] / 2)},
        "backward": {"macs": bwd_floor, "floor_cycles": bwd_floor,
                     "over_floor": ratio(by_class["backward"], bwd_floor)},
        "step": {"floor_cycles": round(fwd_floor + bwd_floor),
                 "over_floor": ratio(step, fwd_floor + bwd_floor)},
    }
    return out


def profile(board: str, elf: Path) -> dict:
    """Cycles per program opcode of the profile build's hooked step: the time between the
    return of one instruction hook call and the entry of the next belongs to the program
    instruction the first call announced (the hook's own time is left out)."""
    from tflm_train.converter.program import Opcode

    syms = trace.symbols(elf)
    t_train = trace.address_of(syms, "tt_train")
    hook = trace.address_of(syms, "ProfileHook")
    run = trace.run(board, elf, [t_train, hook])
    if run.rc != 0:
        return {"error": f"exit {run.rc}: {run.output[-300:]}"}
    ops = [(int(o), int(a)) for o, a in re.findall(
        r"^\[profile\] ins \d+ opcode (\d+) arg (-?\d+) ticks \d+$", run.output, re.M)]
    pricer = trace.Pricer(run.blocks)
    # the segments ending at "enter ProfileHook" after a "leave ProfileHook" are the ops
    segs, prev = [], None
    for s in run.segments:
        if s.kind == "enter" and s.addr == hook and prev is not None and \
                prev.kind == "leave" and prev.addr == hook:
            segs.append(s.counts)
        prev = s
    if len(segs) != len(ops):
        return {"error": f"{len(segs)} hooked segments for {len(ops)} profiled instructions"}
    by_op: dict = {}
    for (opcode, _), counts in zip(ops, segs):
        k = Opcode(opcode).name
        cyc = _variant_cycles(pricer, counts, board)
        d = by_op.setdefault(k, {v: 0 for v in cyc})
        for v, n in cyc.items():
            d[v] += n
    return dict(sorted(by_op.items(), key=lambda kv: -next(iter(kv[1].values()))))


NOTES = [
    "cycles: ESTIMATED by the cycle model (bench/cycles/model.py: Cortex-M4 TRM table at zero "
    "wait states over QEMU's exact instruction stream, taken branches counted), not measured "
    "on a board; the paper's figure is measured (latency x 216 MHz on a real STM32F746)",
    "an386 (M4 build): m4 is the point estimate, m4_low..m4_high its range (branch refill "
    "P = 1..3, division 2..12); ms at the Nano 33 BLE's 64 MHz",
    "an500 (M7 build): m7 is the point estimate (bench/cycles/m7_issue.py: in-order dual "
    "issue at LLVM's Cortex-M7 scheduling model's pipes and latencies, LDM/VLDM 2 words a "
    "cycle and the VMLA pairing limits as measured on an M7, one-block loops at their steady "
    "state, conditional branches mispredicted in their minority direction at 6 cycles), "
    "m7_est_low..m7_est_high its range over the branch predictor's assumptions (4-cycle "
    "mispredict .. 8 cycles, every indirect branch mispredicted, +1 per taken branch); "
    "m7_low = instructions / 2 and m7_high = single issue at the M7's latencies are the "
    "bounds; est_cycles_m7 sums them up; ms at the STM32F746's 216 MHz",
    "tt_train_cycles_by_class: the last measured step's cycles by the source of each function "
    "(forward kernels by op kind, backward kernels, SGD update, memcpy/memmove/memset and row "
    "streaming, runtime, libgcc helpers); inlined code counts where it was inlined",
    "macs/floors: forward MACs of every conv/depthwise/FC op at 2 int8 MACs per cycle (SMLAD); "
    "backward MACs (input gradients of every op the program back-propagates through + weight "
    "gradients of the trained channels) at 1 float multiply-add per cycle; over_floor = "
    "estimated cycles / floor",
    "profile_cycles: cycles per program opcode of the profile build's hooked step (hook time "
    "left out)",
]


def compare_with_paper(row: dict, paper_cycles: int) -> None:
    """Our estimated cycles over the paper's measured cycles (STM32F746), in the row."""
    if "tt_train_cycles_mean" not in row:
        return
    row["tt_train_estimated_over_paper_measured_cycles"] = {
        v: round(c / paper_cycles, 3) for v, c in row["tt_train_cycles_mean"].items()}


def _mc(v) -> str:
    return "-" if v is None else f"{v / 1e6:.1f}"


def print_table(rows: dict) -> None:
    print("estimated cycles (bench/cycles/model.py; NOT measured) per training step and "
          "inference, ms at the board's clock, cycles over the MAC floor")
    headers = ["model", "board", "variant", "step Mcyc", "step ms", "infer Mcyc", "infer ms",
               "/paper", "fwd/floor", "1x1/floor", "dw/floor", "bwd/floor"]
    lines = []
    for name, boards in rows.items():
        for board, r in boards.items():
            c = r.get("cycles", {})
            if "error" in c or not c:
                lines.append([name, board, c.get("error", "no cycles")[:60]] + [""] * 9)
                continue
            f = c["floors"]
            for v in c["tt_train_cycles_mean"]:
                paper = c.get("tt_train_estimated_over_paper_measured_cycles", {}).get(v)
                lines.append([name, board, v, _mc(c["tt_train_cycles_mean"][v]),
                              f"{c['tt_train_ms'][v]:.0f}", _mc(c["inference_cycles"][v]),
                              f"{c['inference_ms'][v]:.0f}",
                              "-" if paper is None else f"{paper:.2f}",
                              *(str(f[k]["over_floor"][v]) for k in
                                ("forward", "conv 1x1", "depthwise", "backward"))])
    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    for l in lines:
        print("  ".join(x.rjust(w) for x, w in zip(l, widths)))
