"""MCU bench (issues 6 and 7): instructions per sparse-update training step and per inference,
stack and arena high-water marks and flash image size of each zoo model's training firmware
(bench/firmware/train_zoo) on both boards, measured in QEMU, beside the paper's TTE latency.

    python -m bench.mcu [--models NAME ...] [--boards an386 an500 an505 an385 an547 rv32]
                        [--regenerate] [--out PATH]

Prints a table and writes bench/results/mcu.json. Needs Bazel, arm-none-eabi and
qemu-system-arm. Uses the committed firmware inputs (--regenerate rewrites them first with
bench/firmware/train_zoo/generate.py).

What each number is:
- instructions: QEMU -icount shift=0 SysTick ticks x 40 (board.h; x 50 on the an505's 20 MHz
  SysTick, x 31.25 rounded on the an547's 32 MHz one; rv32 reads mcycle, 1 tick = 1
  instruction), so each measurement is exact to one tick
  (+-40 instructions). "step" is one iteration of the training driver's loop
  (sample copy into the input tensor + learning-rate schedule + tt_train), timed by the
  firmware between two of the driver's print calls; "tt_train" = step - the same sample copy
  timed alone (+-80). "inference" is one tt_invoke of the same extended model.
  QEMU counts instructions, not cycles: a Cortex-M4 needs >= 1 cycle per instruction (more for
  loads, branches, divisions, flash wait states); a Cortex-M7 can dual-issue. The paper's
  number is cycles = latency x 216 MHz on a real STM32F746.
- stack high-water: deepest stack use up to the end of training (painted stack, board.h);
  run_stack_high_water_bytes also covers the timed inference after it.
- arena high-water: bytes from the arena start to the highest word the run changed (painted
  arena); the plan's figure beside it.
- infer-only: instructions per inference of the zoo inference firmware (bench/firmware/infer:
  the inference-only plan, whose arena is smaller because more of it is row-streamed), mean of
  its runs; the paper's latency is for training, this is for reference.
- MACs: multiply-accumulates of the model's forward conv / depthwise / FC ops
  (bench.forward.op_macs); instructions per MAC show how far the kernels are from SIMD speed.
- flash: text + data of the firmware ELF (embedded extended model + steps file + code).
- host == board: the step losses, every trained tensor's bytes and their checksum printed by
  the firmware equal those of the host build of the same driver.
- cycles: estimated, not measured: the same firmware run again in QEMU with the cycle plugin
  and priced by the Cortex-M cycle model (bench/cycles/model.py holds the table and every
  assumption; bench/cycles/zoo.py the breakdown by class of work, per opcode and the MAC
  floors); milliseconds at the Nano 33 BLE's 64 MHz (M4 build) and the STM32F746's 216 MHz
  (M7 build: a point estimate, bench/cycles/m7_issue.py, its range and a lower and an upper
  bound; est_cycles_m7 sums them up).
- profile: the same firmware built with -DTRAIN_PROFILE (profile_<model>.elf) runs one more
  step after the measured ones with an instruction hook (tt_set_instruction_hook) and prints the
  ticks of every program instruction; summed per opcode (FORWARD, STREAM_CHAIN,
  BOTTLENECK_BACKWARD, ...) and split into forward (the first n_forward instructions) and
  backward + updates. The hook's own prints are outside the timed intervals.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

from bench.provenance import provenance

from bench.cycles import zoo as cycles_zoo
from tflm_train.boards import STANDINS, standin_label
from bench.zoo.board_builds import EXTRA_LABELS, INSNS_PER_TICK as BOARD_INSNS_PER_TICK
from bench.zoo.train_firmware import INSNS_PER_TICK, MODELS_DIR, build, flash, generator, \
    host_equals_board, parse, run

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "mcu.json"
BOARDS = {name: standin_label(name) for name in STANDINS}
BOARDS.update(EXTRA_LABELS)
# What `python -m bench.mcu` measures without --boards: the M4 and M7 stand-ins, the paper's
# CPUs. The other boards (an505 M33, an385 M3, an547 M55, rv32) are measured when named.
DEFAULT_BOARDS = ["an386", "an500"]
# Paper (Lin et al. 2022), TTE latency of one training step on STM32F746 at 216 MHz, sparse
# update; mcunet_like stands in for MCUNet-5FPS (an approximation, labelled as such).
PAPER_LATENCY_MS = {"mobilenetv2_w035": 373, "proxylessnas_w03": 443, "mcunet_like": 546}
PAPER_MHZ = 216
PAPER_MODEL = {"mobilenetv2_w035": "MobileNetV2-w0.35", "proxylessnas_w03": "ProxylessNAS-w0.3",
               "mcunet_like": "MCUNet-5FPS (ours: MCUNet-like approximation)"}


def parse_profile(text: str, n_forward: int, per_tick: int = INSNS_PER_TICK) -> dict:
    """Instructions per program instruction of the profiled step, summed per opcode."""
    from tflm_train.converter.program import Opcode

    rows = [(int(i), Opcode(int(o)).name, int(a), round(int(t) * per_tick)) for i, o, a, t in
            re.findall(r"^\[profile\] ins (\d+) opcode (\d+) arg (-?\d+) ticks (\d+)$", text,
                       re.M)]
    by_kind: dict[str, int] = {}
    for _, kind, _, n in rows:
        by_kind[kind] = by_kind.get(kind, 0) + n
    forward = sum(n for i, _, _, n in rows if i < n_forward)
    return {"instructions": sum(n for *_, n in rows), "forward_instructions": forward,
            "backward_instructions": sum(n for *_, n in rows) - forward,
            "by_opcode": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
            "per_instruction": [{"index": i, "opcode": k, "arg0": a, "instructions": n}
                                for i, k, a, n in rows]}


def n_forward_instructions(name: str) -> int:
    from tflm_train.converter.program import METADATA_NAME, decode_header
    from tflm_train.converter.tflite_io import get_metadata, read_model

    model = read_model((MODELS_DIR / f"{name}.tflite").read_bytes())
    return decode_header(get_metadata(model, METADATA_NAME))["n_forward"]


def measure(board: str, name: str, elf: Path, host_output: Path) -> dict:
    per_tick = BOARD_INSNS_PER_TICK[board]
    text, rc = run(board, elf)
    row = parse(text, rc, per_tick)
    row["steps"] = len(row["step_instructions"])
    row["host_equals_board"] = host_equals_board(text, host_output)
    row.update(flash(elf, name))
    row["forward_macs"] = forward_macs(name)
    profile = elf.parent / f"profile_{name}.elf"
    prof_text, prof_rc = run(board, profile) if profile.is_file() else ("", None)
    if prof_rc is None:
        row["profile"] = {"error": "no profile image: its profiling hook does not fit the "
                                   "board's flash beside this model (PROFILE_BOARDS in "
                                   "bench/firmware/train_zoo/BUILD)"}
    elif prof_rc == 0:
        row["profile"] = parse_profile(prof_text, n_forward_instructions(name), per_tick)
    else:
        row["profile"] = {"error": f"exit {prof_rc}: {prof_text[-300:]}"}
    if board in cycles_zoo.BOARD_VARIANTS:
        row["cycles"] = cycles_zoo.measure(board, name, elf, elf.parent / f"profile_{name}.elf",
                                           MODELS_DIR / f"{name}.tflite")
    else:  # bench/cycles/model.py has tables for the M4 (and M7 bounds) only
        row["cycles"] = {"error": f"no cycle model for {board}"}
    if row["inference_instructions"]:
        row["inference_instructions_per_mac"] = round(row["inference_instructions"] /
                                                      row["forward_macs"], 3)
    if name in PAPER_LATENCY_MS:
        cycles = PAPER_LATENCY_MS[name] * PAPER_MHZ * 1000
        row["paper"] = {"model": PAPER_MODEL[name], "latency_ms": PAPER_LATENCY_MS[name],
                        "mhz": PAPER_MHZ, "cycles": cycles}
        if "tt_train_instructions_mean" in row:
            row["tt_train_over_paper_cycles"] = round(row["tt_train_instructions_mean"] / cycles,
                                                      3)
        cycles_zoo.compare_with_paper(row["cycles"], cycles)
    return row


def infer_firmware_instructions(board: str, names, out_dir: Path) -> dict[str, dict]:
    """{name: {"instructions": mean per inference, "planned_arena_bytes"}} from the zoo
    inference firmware (default kernels), or {"error"} per model."""
    from bench.zoo import infer_firmware

    out = {}
    for name, elf in infer_firmware.build(board, names, False, out_dir / "infer").items():
        run = infer_firmware.run(board, elf)
        if run.rc != 0 or not run.instructions:
            out[name] = {"error": run.error or f"exit {run.rc}"}
        else:
            out[name] = {"instructions": round(statistics.mean(run.instructions)),
                         "runs": len(run.instructions),
                         "planned_arena_bytes": run.planned_arena}
    return out


def forward_macs(name: str) -> int:
    from bench import zoo
    from bench.forward import op_macs
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model

    graph = build_graph(read_model(zoo.load(name)))
    return sum(op_macs(graph, op) for op in graph.ops)


def _m(v) -> str:
    return "-" if v is None else f"{v / 1e6:.2f}"


def print_table(rows: dict) -> None:
    headers = ["model", "board", "steps", "tt_train Minsn", "(min..max)", "infer Minsn",
               "train-infer", "infer-only fw", "insn/MAC", "paper Mcyc", "ours/paper",
               "stack B", "arena HW B", "planned B", "flash B", "host==board"]
    lines = []
    for name, boards in rows.items():
        for board, r in boards.items():
            train = r.get("tt_train_instructions") or []
            paper = r.get("paper", {}).get("cycles")
            lines.append([
                name, board, str(r["steps"]), _m(r.get("tt_train_instructions_mean")),
                f"{_m(min(train))}..{_m(max(train))}" if train else "-",
                _m(r["inference_instructions"]), _m(r.get("backward_instructions_mean")),
                _m(r.get("inference_firmware", {}).get("instructions")),
                f"{r['inference_instructions_per_mac']:.2f}"
                if "inference_instructions_per_mac" in r else "-", _m(paper),
                f"{r['tt_train_over_paper_cycles']:.2f}" if "tt_train_over_paper_cycles" in r
                else "-",
                str(r["stack_high_water_bytes"]), f"{r['arena_high_water_bytes'] or 0:,}",
                f"{r['planned_arena_bytes'] or 0:,}", f"{r['flash_image_bytes']:,}",
                "yes" if r["host_equals_board"] else "NO" + (f" ({r['error']})"
                                                             if "error" in r else "")])
    print("mcu: QEMU instructions per training step (tt_train) and per inference (tt_invoke), "
          "-icount ticks x 40 (+-40/+-80; an505 x 50, an547 x 31.25, rv32 x 1); paper = TTE "
          "latency x 216 MHz on STM32F746 (cycles)")
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    for cells in lines:
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    print("profile of one step (Minsn): forward / backward + updates, then per opcode")
    for name, boards in rows.items():
        for board, r in boards.items():
            prof = r.get("profile", {})
            if "by_opcode" not in prof:
                print(f"  {name} {board}: {prof.get('error', 'no profile')}")
                continue
            kinds = ", ".join(f"{k} {_m(v)}" for k, v in prof["by_opcode"].items() if v >= 1e5)
            print(f"  {name} {board}: {_m(prof['forward_instructions'])} / "
                  f"{_m(prof['backward_instructions'])}: {kinds}")


def main(argv=None) -> int:
    from bench import zoo

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="*", default=list(zoo.NAMES), choices=list(zoo.NAMES))
    p.add_argument("--boards", nargs="*", default=DEFAULT_BOARDS, choices=list(BOARDS),
                   help="QEMU boards (default: an386 an500; also an505, an385, an547, rv32)")
    p.add_argument("--regenerate", action="store_true",
                   help="rewrite the firmware inputs with generate.py first")
    p.add_argument("--no-infer-firmware", action="store_true",
                   help="skip the inference firmware's per-inference counts")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--no-mve", action="store_true",
                   help="build without the an547's MVE kernels (the DSP path alone), to compare")
    args = p.parse_args(argv)
    gen = generator()
    if args.regenerate:
        gen.main(["--models", *args.models])
    stale = gen.main(["--check", "--models", *args.models]) != 0
    rows: dict = {n: {} for n in args.models}
    with tempfile.TemporaryDirectory() as d:
        for board in args.boards:
            print(f"building {len(args.models)} training firmware(s) for {board} ...", flush=True)
            configs = ("kernels_no_mve",) if args.no_mve else ()
            for name, (elf, host) in build(board, args.models, Path(d), configs=configs).items():
                rows[name][board] = measure(board, name, elf, host)
            if not args.no_infer_firmware:
                print(f"building {len(args.models)} inference firmware(s) for {board} ...",
                      flush=True)
                for name, v in infer_firmware_instructions(board, args.models, Path(d)).items():
                    rows[name][board]["inference_firmware"] = v
    print_table(rows)
    cycles_zoo.print_table(rows)
    doc = {
        **provenance("mcu", argv,
                     ["kernels", "tflm_train/runtime", "converter", "bench/firmware",
                      "examples/firmware/train", "targets", "bench/zoo"]),
        "inputs_current": not stale,
        "boards": {b: BOARDS[b] for b in args.boards},
        "instructions_per_tick": INSNS_PER_TICK,
        "resolution_instructions": {"step": INSNS_PER_TICK, "tt_train": 2 * INSNS_PER_TICK,
                                    "inference": INSNS_PER_TICK},
        # the M4 / M7 stand-ins' 40 above; each board's own (resolution: one tick each)
        "instructions_per_tick_by_board": {b: BOARD_INSNS_PER_TICK[b] for b in args.boards},
        "notes": [
            "instructions: QEMU -icount shift=0 SysTick ticks x 40; QEMU counts instructions, "
            "not cycles (paper: cycles = latency ms x 216 MHz on a real STM32F746)",
            "step_instructions: one driver loop iteration (sample copy + lr + tt_train); "
            "tt_train_instructions = step - sample_copy_instructions",
            "inference_instructions: one tt_invoke of the same extended (training) model; "
            "backward_instructions_mean = tt_train mean - inference (backward + updates)",
            "schemes: the paper's ~50 KB sparse-update schemes (bench.zoo.scheme); mnist_cnn "
            "has none (converter default); mcunet_like approximates MCUNet-5FPS",
            "inference_firmware: bench/firmware/infer (inference-only plan, default "
            "kernels), ticks x 40 per tt_invoke, mean of its runs",
            "samples are deterministic random images (generate.py); accuracy is meaningless",
        ] + cycles_zoo.NOTES,
        "models": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")
    ok = all(r["host_equals_board"] and "error" not in r for b in rows.values()
             for r in b.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
