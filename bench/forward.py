"""Forward (inference) bench over the model zoo: arena, flash, instructions per inference on
both boards (reference vs DSP kernels) and host time, ours vs the tflite-micro wheel (TFLM).

    python -m bench.forward [--models NAME ...] [--host-runs 20] [--skip-boards] [--profile]

Prints a table and writes bench/results/forward.json. Needs the host library
(scripts/build_host.sh), Bazel + arm-none-eabi + qemu-system-arm for the board columns.

What each number is:
- arena ours: the planned arena of the inference-only plan (SparseUpdate(inference_only=True),
  default converter options, i.e. with row-streamed chains); the runtime refuses a smaller arena.
  "unstreamed" is the same plan with every tensor whole (the TFLM-like layout).
- arena TFLM: what the wheel's RecordingMicroAllocator reports after one invoke (total = head
  (activations, scratch) + tail (persistent)). The wheel runs on x86-64, so its persistent
  structs hold 8-byte pointers; a Cortex-M build of TFLM needs somewhat less tail.
- flash: the firmware image (text + data of bench/firmware/infer's ELF: embedded extended
  model + runtime + kernels + board layer), and its parts.
- instructions: QEMU -icount shift=0 SysTick ticks around tt_invoke x 40 (board.h), per
  inference; "reference" is the build with --copt=-DTFLM_TRAIN_KERNELS_REFERENCE, "dsp" the
  default build (Cortex-M DSP/SIMD kernels where they exist).
- host ms: wall time per inference on this machine, ours (ctypes binding over the C++ runtime)
  and the wheel, same inputs, same process, best of 3 rounds of --host-runs inferences.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.provenance import provenance
from bench.variants import unstreamed_inference_model

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "forward.json"
BOARDS = ("an386", "an500")


def arena_ours(model: bytes) -> dict:
    import tflm_train
    from tflm_train.converter import memory_report

    streamed = memory_report(tflm_train.convert(model, tflm_train.SparseUpdate(
        inference_only=True)))
    whole = memory_report(unstreamed_inference_model(model))
    return {"arena_bytes": streamed.arena_bytes,
            "activation_bytes": streamed.activation_peak_bytes,
            "persistent_bytes": streamed.arena_bytes - streamed.activation_peak_bytes,
            "unstreamed_arena_bytes": whole.arena_bytes,
            "unstreamed_activation_bytes": whole.activation_peak_bytes}


_WHEEL_ARENA = r"""
import sys, numpy as np
from tflite_micro.python.tflite_micro import runtime
m = open(sys.argv[1], "rb").read()
it = runtime.Interpreter.from_bytes(m)
it.set_input(np.zeros(it.get_input_details(0)["shape"], np.int8), 0)
it.invoke()
sys.stdout.flush()
it.print_allocations()
"""


def arena_wheel(path: Path) -> dict:
    """The wheel's RecordingMicroAllocator report (printed to fd 2, hence the subprocess)."""
    proc = subprocess.run([sys.executable, "-c", _WHEEL_ARENA, str(path)], capture_output=True,
                          text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    found = {k: int(v) for k, v in re.findall(
        r"Arena allocation (total|head|tail) (\d+) bytes", proc.stderr)}
    if proc.returncode != 0 or len(found) != 3:
        raise RuntimeError(f"wheel arena report failed: {proc.stderr[-2000:]}")
    return {"arena_bytes": found["total"], "head_bytes": found["head"],
            "tail_bytes": found["tail"]}


def host_times(model: bytes, runs: int, seed: int = 0) -> dict:
    """ms per inference, ours vs the wheel, on the same inputs; best of 3 rounds."""
    import tflm_train
    from tflite_micro.python.tflite_micro import runtime

    from tflm_train.binding import NativeSession

    ours = NativeSession(tflm_train.convert(model, tflm_train.SparseUpdate(inference_only=True)))
    wheel = runtime.Interpreter.from_bytes(model)
    shape = wheel.get_input_details(0)["shape"]
    xs = np.random.default_rng(seed).integers(-128, 128, size=(runs, *shape[1:]), dtype=np.int8)
    ours.invoke(xs[0])
    wheel.set_input(xs[:1], 0)
    wheel.invoke()

    def best(fn) -> float:
        rounds = []
        for _ in range(3):
            t0 = time.perf_counter()
            for x in xs:
                fn(x)
            rounds.append((time.perf_counter() - t0) / runs * 1e3)
        return min(rounds)

    def run_wheel(x):
        wheel.set_input(x[None], 0)
        wheel.invoke()
        return wheel.get_output(0)

    same = all(np.array_equal(ours.invoke(x), np.asarray(run_wheel(x)).reshape(-1)) for x in xs)
    return {"ours_ms": best(ours.invoke), "wheel_ms": best(run_wheel), "runs": runs,
            "outputs_equal": bool(same)}


def board_numbers(names, out_dir: Path) -> dict:
    """{board: {path: {name: run summary}}} for the reference and DSP builds."""
    from bench.zoo import infer_firmware

    result: dict = {}
    for board in BOARDS:
        for path, reference in (("reference", True), ("dsp", False)):
            elfs = infer_firmware.build(board, names, reference, out_dir)
            for name, elf in elfs.items():
                run = infer_firmware.run(board, elf)
                if (run.kernels == "reference") != reference:
                    raise RuntimeError(f"{elf}: built for {path} kernels but prints "
                                       f"'{run.kernels}' (bazel-bin replaced meanwhile?)")
                size = infer_firmware.code_size(elf)
                entry = {"exit_code": run.rc, "planned_arena_bytes": run.planned_arena,
                         "firmware_arena_bytes": run.available_arena,
                         "instructions": run.instructions, "fnv": [f"0x{v:08x}" for v in run.fnv],
                         "flash_bytes": size["text"] + size["data"],
                         "ram_static_bytes": size["data"] + size["bss"]}
                if run.rc != 0:
                    entry["error"] = run.error or run.text[-500:]
                result.setdefault(board, {}).setdefault(path, {})[name] = entry
                print(f"  {board} {path:9s} {name}: exit {run.rc}, instructions "
                      f"{run.instructions}", flush=True)
    return result


FIRMWARE_ARENA = {"an386": 236 * 1024, "an500": 300 * 1024}  # zoo_infer.bzl ARENA_BYTES


def op_class(graph, op) -> str:
    """Profile bucket of an op: kind, kernel size and stride for convolutions."""
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh, kw = graph.tensors[op.inputs[1]].shape[1:3]
        stride = op.options.get("stride_h", 1)
        return f"{op.kind} {kh}x{kw}/{stride}"
    return op.kind


def op_macs(graph, op) -> int:
    """Multiply-accumulates of a conv / depthwise / FC op (0 for the others)."""
    out = graph.tensors[op.outputs[0]].shape
    w = graph.tensors[op.inputs[1]].shape if len(op.inputs) > 1 else None
    if op.kind == "CONV_2D":      # weights [cout, kh, kw, cin]
        return int(np.prod(out[:3])) * int(np.prod(w))
    if op.kind == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, cout]
        return int(np.prod(out)) * int(w[1] * w[2])
    if op.kind == "FULLY_CONNECTED":
        return int(np.prod(w))
    return 0


def wheel_output_fnv(model: bytes) -> int:
    """FNV-1a of the wheel's output for the firmware's first input (FillInput(seed, 0))."""
    from tflite_micro.python.tflite_micro import runtime

    from bench.zoo import firmware_inputs, infer_firmware

    wheel = runtime.Interpreter.from_bytes(model)
    shape = wheel.get_input_details(0)["shape"]
    x = firmware_inputs.fill_input(firmware_inputs.INFER_SEED, 0, int(np.prod(shape)))
    wheel.set_input(x.reshape(shape), 0)
    wheel.invoke()
    return infer_firmware.fnv1a(np.asarray(wheel.get_output(0)).tobytes())


def profile(names, out_dir: Path) -> dict:
    """Per-op instructions of each model's whole-tensor plan (ops one by one with tt_invoke_op:
    streamed chains cannot be split) on every board whose firmware arena holds that plan,
    reference vs DSP kernels, summed per op class."""
    from bench.zoo import infer_firmware
    from tflm_train.converter import memory_report
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model

    from bench import zoo

    pdir = ROOT / "bench" / "firmware" / "infer" / "profile"
    pdir.mkdir(exist_ok=True)
    planned = {}
    try:
        for n in names:
            whole = unstreamed_inference_model(zoo.load(n))
            planned[n] = memory_report(whole).arena_bytes
            (pdir / f"{n}.tflite").write_bytes(whole)
        result: dict = {}
        for board in BOARDS:
            fits = [n for n in names if planned[n] <= FIRMWARE_ARENA[board]]
            if not fits:
                continue
            runs = {}
            for path, reference in (("reference", True), ("dsp", False)):
                elfs = infer_firmware.build(board, fits, reference, out_dir / "profile",
                                            prefix="profile")
                runs[path] = {n: infer_firmware.run(board, e) for n, e in elfs.items()}
            for n in fits:
                graph = build_graph(read_model(zoo.load(n)))
                ref, dsp = runs["reference"][n], runs["dsp"][n]
                if ref.rc or dsp.rc or len(ref.op_ticks) != len(graph.ops):
                    result.setdefault(n, {})[board] = {"error": (ref.error or dsp.error or
                                                                  "profile run failed")}
                    continue
                # ops run one by one on the board must still give the wheel's output
                want = wheel_output_fnv(zoo.load(n))
                if not ref.profile_fnv == dsp.profile_fnv == want:
                    raise RuntimeError(f"profile of {n} on {board}: output fnv ref "
                                       f"{ref.profile_fnv:#x} dsp {dsp.profile_fnv:#x}, wheel "
                                       f"{want:#x}")
                classes: dict = {}
                for op, tr, td in zip(graph.ops, ref.op_ticks, dsp.op_ticks):
                    c = classes.setdefault(op_class(graph, op), {"ops": 0, "macs": 0,
                                                                 "outputs": 0, "reference": 0,
                                                                 "dsp": 0})
                    c["ops"] += 1
                    c["macs"] += op_macs(graph, op)
                    c["outputs"] += int(np.prod(graph.tensors[op.outputs[0]].shape))
                    c["reference"] += tr * infer_firmware.INSNS_PER_TICK
                    c["dsp"] += td * infer_firmware.INSNS_PER_TICK
                total_ref = sum(c["reference"] for c in classes.values())
                for c in classes.values():
                    c["share_of_reference"] = round(c["reference"] / total_ref, 4)
                    c["speedup"] = round(c["reference"] / max(c["dsp"], 1), 3)
                    if c["macs"]:
                        c["reference_per_mac"] = round(c["reference"] / c["macs"], 2)
                        c["dsp_per_mac"] = round(c["dsp"] / c["macs"], 2)
                        c["macs_per_output"] = round(c["macs"] / c["outputs"], 1)
                    c["dsp_per_output"] = round(c["dsp"] / c["outputs"], 1)
                result.setdefault(n, {})[board] = {
                    "planned_arena_bytes": planned[n],
                    "instructions_reference": total_ref,
                    "instructions_dsp": sum(c["dsp"] for c in classes.values()),
                    "classes": dict(sorted(classes.items(), key=lambda kv: -kv[1]["reference"])),
                }
        return result
    finally:
        for f in pdir.glob("*.tflite"):
            f.unlink()


def print_profile(prof: dict) -> None:
    for name, boards in prof.items():
        for board, p in boards.items():
            if "error" in p:
                print(f"profile {name} on {board}: {p['error']}")
                continue
            print(f"profile {name} on {board} (whole-tensor plan, ops run one by one): "
                  f"{p['instructions_reference'] / 1e6:.1f} M reference, "
                  f"{p['instructions_dsp'] / 1e6:.1f} M dsp instructions")
            for cls, c in p["classes"].items():
                per_mac = (f"  insn/MAC {c['reference_per_mac']:.2f} -> {c['dsp_per_mac']:.2f}"
                           f"  MAC/output {c['macs_per_output']:.0f}" if c["macs"] else "")
                per_mac += f"  dsp insn/output {c['dsp_per_output']:.0f}"
                print(f"  {cls:28s} {c['ops']:3d} ops  ref {c['reference'] / 1e6:8.2f} M "
                      f"({100 * c['share_of_reference']:5.1f} %)  dsp {c['dsp'] / 1e6:8.2f} M  "
                      f"x{c['speedup']:.2f}{per_mac}")


def summarize(name: str, model: bytes, ext: bytes, ours: dict, tflm: dict, host: dict,
              boards: dict | None) -> dict:
    row = {"model_bytes": len(model), "extended_model_bytes": len(ext),
           "arena_ours": ours, "arena_tflm_wheel": tflm, "host": host,
           "arena_ours_le_tflm": ours["arena_bytes"] <= tflm["arena_bytes"]}
    if boards:
        row["boards"] = {}
        for board in BOARDS:
            ref = boards[board]["reference"][name]
            dsp = boards[board]["dsp"][name]
            b = {"reference": ref, "dsp": dsp,
                 "flash_bytes": dsp["flash_bytes"],
                 "code_bytes": dsp["flash_bytes"] - len(ext),
                 "fits_ram": dsp["exit_code"] == 0}
            if ref["instructions"] and dsp["instructions"]:
                b["instructions_reference"] = int(np.mean(ref["instructions"]))
                b["instructions_dsp"] = int(np.mean(dsp["instructions"]))
                b["dsp_speedup"] = round(b["instructions_reference"] / b["instructions_dsp"], 3)
                b["outputs_equal_reference_dsp"] = ref["fnv"] == dsp["fnv"]
            row["boards"][board] = b
    return row


def print_table(rows: dict) -> None:
    headers = ["model", "arena ours", "(unstreamed)", "arena TFLM", "flash", "code",
               "M4 ref Minsn", "M4 dsp", "x", "M7 ref Minsn", "M7 dsp", "x",
               "host ours ms", "wheel ms"]
    lines = []
    for name, r in rows.items():
        cells = [name, f"{r['arena_ours']['arena_bytes']:,}",
                 f"{r['arena_ours']['unstreamed_arena_bytes']:,}",
                 f"{r['arena_tflm_wheel']['arena_bytes']:,}"]
        b = r.get("boards")
        cells += [f"{b['an386']['flash_bytes']:,}", f"{b['an386']['code_bytes']:,}"] if b else \
            ["-", "-"]
        for board in BOARDS:
            if b and "instructions_dsp" in b[board]:
                cells += [f"{b[board]['instructions_reference'] / 1e6:.2f}",
                          f"{b[board]['instructions_dsp'] / 1e6:.2f}",
                          f"{b[board]['dsp_speedup']:.2f}"]
            else:
                cells += ["-", "-", "-"]
        cells += [f"{r['host']['ours_ms']:.2f}", f"{r['host']['wheel_ms']:.2f}"]
        lines.append(cells)
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="forward: arena bytes, flash bytes, QEMU instructions per "
                            "inference (M4 = an386, M7 = an500), host ms per inference")
        for h in headers:
            table.add_column(h, justify="left" if h == "model" else "right")
        for cells in lines:
            table.add_row(*cells)
        Console(width=200).print(table)
    except ImportError:
        widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(headers)]
        print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
        for cells in lines:
            print("  ".join(c.rjust(w) for c, w in zip(cells, widths)))


def main(argv=None) -> int:
    from bench import zoo

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="*", default=list(zoo.NAMES), choices=list(zoo.NAMES))
    p.add_argument("--host-runs", type=int, default=20)
    p.add_argument("--skip-boards", action="store_true", help="no Bazel/QEMU columns")
    p.add_argument("--profile", action="store_true",
                   help="also per-op instructions (whole-tensor plans, 4 more builds)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    import tflm_train

    boards = prof = None
    if not args.skip_boards:
        print("building and running the inference firmware (4 builds) ...", flush=True)
        with tempfile.TemporaryDirectory() as d:
            boards = board_numbers(args.models, Path(d))
            if args.profile:
                print("per-op profile (4 builds) ...", flush=True)
                prof = profile(args.models, Path(d))
    rows = {}
    for name in args.models:
        model = zoo.load(name)
        ext = tflm_train.convert(model, tflm_train.SparseUpdate(inference_only=True))
        runs = args.host_runs * (10 if name == "mnist_cnn" else 1)
        rows[name] = summarize(name, model, ext, arena_ours(model), arena_wheel(zoo.path(name)),
                               host_times(model, runs), boards)
    print_table(rows)
    if prof:
        print_profile(prof)
    from importlib.metadata import version

    doc = {
        **provenance("forward", argv,
                     ["kernels", "tflm_train/runtime", "converter", "bench/firmware/infer",
                      "targets", "bench/zoo"]),
        "host": f"{platform.machine()}, {os.cpu_count()} CPUs (shared while measuring)",
        "versions": {"tflite-micro": version("tflite-micro"),
                     "tensorflow-cpu": version("tensorflow-cpu")},
        "notes": [
            "arena_ours: inference-only plan (default converter options: row-streamed "
            "chains); unstreamed_*: the same plan with every tensor whole",
            "arena_tflm_wheel: RecordingMicroAllocator of the tflite-micro wheel (x86-64: "
            "8-byte pointers in its persistent tail)",
            "instructions: QEMU -icount shift=0, SysTick ticks x 40 around tt_invoke; "
            "reference = --copt=-DTFLM_TRAIN_KERNELS_REFERENCE, dsp = default build",
            "flash_bytes: text + data of the inference firmware ELF (embedded extended model "
            "+ code); code_bytes = flash_bytes - extended model bytes",
            "zoo models have random weights (accuracy meaningless); mcunet_like is an "
            "approximation of MCUNet-5FPS",
        ],
        "models": rows,
    }
    if prof is not None:
        doc["profile"] = prof
        doc["notes"].append("profile: whole-tensor plan (no streaming) with every op run alone "
                            "(tt_invoke_op), ticks x 40 per op summed per op class; only boards "
                            "whose firmware arena holds that plan")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
