"""The zoo training firmware (bench/firmware/train_zoo) as the benches use it: build its ELFs
and host twin's output, run them in QEMU, and read its report. bench/mcu takes instruction
counts from it, bench/memory the stack, session and static RAM; both read the same runs of the
same committed inputs (models/<name>.tflite + .steps, written by train_zoo/generate.py).
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

from . import ROOT
from .board_builds import INSNS_PER_TICK as BOARD_INSNS_PER_TICK, is_board_build

PACKAGE = "//bench/firmware/train_zoo"
FW_DIR = ROOT / "bench" / "firmware" / "train_zoo"
MODELS_DIR = FW_DIR / "models"
# The firmware's static arena per board (_ARENA in train_zoo/BUILD), in the order bench/memory
# prefers the boards: the Nano 33 BLE stand-in first, the STM32F746 stand-in if a plan needs more.
BOARD_ARENA = {"an386": 236 * 1024, "an500": 300 * 1024}
INSNS_PER_TICK = 40  # the M4 / M7 stand-ins' (bench/memory); other boards: BOARD_INSNS_PER_TICK


def generator():
    """train_zoo/generate.py as a module (it is a script beside the firmware, not a package)."""
    spec = importlib.util.spec_from_file_location("train_zoo_generate", FW_DIR / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(board: str, names, out_dir: Path, profile: bool = True,
          package: str = PACKAGE, configs: tuple[str, ...] = ()) -> dict[str, tuple[Path, Path]]:
    """{name: (ELF, host output)} copied out of bazel-bin (shared with every other build);
    with `profile`, profile_<name>.elf is copied beside each ELF too. `package`: another
    package of train_<name> targets from fw_main.cc (bench/firmware/train_search). `configs`:
    more .bazelrc configs (kernels_no_mve)."""
    kinds = [("train", ".elf"), ("train", "_host_output")]
    config = [f"--config={board}"] + [f"--config={c}" for c in configs]
    cmd = ["bazel", "build", *config] + [f"{package}:{k}_{n}{s}" for n in names for k, s in kinds]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    profiled = _build_profiles(board, names, package, config) if profile else set()
    dest = out_dir / board
    dest.mkdir(parents=True, exist_ok=True)
    src = ROOT / "bazel-bin" / package.lstrip("/")
    out = {}
    for n in names:
        elf, host = dest / f"train_{n}.elf", dest / f"train_{n}_host_output.txt"
        shutil.copyfile(src / elf.name, elf)
        shutil.copyfile(src / host.name, host)
        if n in profiled:
            shutil.copyfile(src / f"profile_{n}.elf", dest / f"profile_{n}.elf")
        if not is_board_build(board, elf):
            raise RuntimeError(f"{elf.name} is not an {board} build (another build replaced "
                               "bazel-bin meanwhile?); rerun")
        out[n] = (elf, host)
    return out


def _build_profiles(board: str, names, package: str, config: list[str]) -> set[str]:
    """The models whose profile image the board builds (the BUILD file leaves out those whose
    profiling hook does not fit the board's flash: PROFILE_BOARDS)."""
    targets = {n: f"{package}:profile_{n}.elf" for n in names}
    cmd = ["bazel", "build", "--keep_going", *config, *targets.values()]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    built = {n for n, t in targets.items() if f"{t} is incompatible" not in proc.stderr}
    if proc.returncode != 0 and built:  # the others must build on their own
        cmd = ["bazel", "build", *config, *(targets[n] for n in built)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return built


def run(board: str, elf: Path) -> tuple[str, int]:
    """The firmware's output and exit code in QEMU."""
    proc = subprocess.run([str(ROOT / "targets" / "qemu" / "run_qemu.sh"), board, str(elf)],
                          capture_output=True, text=True, timeout=900,
                          env={"QEMU_TIMEOUT": "900", "PATH": "/usr/bin:/bin"})
    return proc.stdout + proc.stderr, proc.returncode


def _compared(text: str) -> list[str]:
    """The lines the host = board comparison uses (as examples/firmware/train/compare_test.sh)."""
    return [l for l in text.splitlines() if re.match(r"^(step|tensor|checksum|[0-9a-f]+$)", l)]


def _complete(lines: list[str]) -> bool:
    """At least one step and one trained tensor, exactly one checksum (as compare_test.sh)."""
    def count(prefix):
        return sum(l.startswith(prefix) for l in lines)
    return count("step ") >= 1 and count("tensor ") >= 1 and count("checksum ") == 1


def host_equals_board(text: str, host_output: Path) -> bool:
    """Step losses, every trained tensor's bytes and the checksum equal the host twin's."""
    want = _compared(host_output.read_text())
    return _complete(want) and _compared(text) == want


def _int(pattern: str, text: str, group: int = 1) -> int | None:
    m = re.search(pattern, text, re.M)
    return int(m.group(group)) if m else None


def parse(text: str, rc: int, per_tick: int = INSNS_PER_TICK) -> dict:
    """The firmware's report as numbers (instructions = ticks x per_tick, the board's
    BOARD_INSNS_PER_TICK)."""
    import statistics

    steps = [round(int(t) * per_tick) for t in re.findall(r"^\[mcu\] step \d+ ticks (\d+)$",
                                                         text, re.M)]
    copy = _int(r"^\[mcu\] sample copy ticks (\d+)$", text)
    invoke = _int(r"^\[mcu\] invoke ticks (\d+) rc 0$", text)
    row = {"exit_code": rc,
           "planned_arena_bytes": _int(r"arena planned (\d+) of", text),
           "firmware_arena_bytes": _int(r"arena planned \d+ of (\d+) bytes", text),
           "session_bytes": _int(r"session (\d+) bytes", text),
           "arena_high_water_bytes": _int(r"^\[mcu\] arena high-water (\d+) of", text),
           "stack_high_water_bytes": _int(r"^\[mcu\] training stack high-water (\d+) bytes",
                                          text),
           "run_stack_high_water_bytes": _int(r"^\[train\] stack high-water (\d+) of", text),
           "stack_bytes": _int(r"^\[train\] stack high-water \d+ of (\d+) bytes", text),
           "ram_used_bytes": _int(r"RAM (\d+)/\d+ B used", text),
           "ram_bytes": _int(r"RAM \d+/(\d+) B used", text),
           "step_instructions": steps,
           "sample_copy_instructions": None if copy is None else round(copy * per_tick),
           "inference_instructions": None if invoke is None else round(invoke * per_tick)}
    if steps and copy is not None:
        train = [s - row["sample_copy_instructions"] for s in steps]
        row["tt_train_instructions"] = train
        row["tt_train_instructions_mean"] = round(statistics.mean(train))
        if invoke is not None:  # what the step adds to a forward pass: backward + updates
            row["backward_instructions_mean"] = (row["tt_train_instructions_mean"] -
                                                 row["inference_instructions"])
    err = re.search(r"^\[train\] error.*$", text, re.M)
    if rc != 0 or err:
        row["error"] = err.group(0) if err else f"exit {rc}: {text[-300:]}"
    return row


def _nm_size(elf: Path, symbol: str) -> int | None:
    text = subprocess.run(["arm-none-eabi-nm", "-C", "-S", str(elf)], capture_output=True,
                          text=True).stdout
    m = re.search(rf"^[0-9a-f]+ ([0-9a-f]+) \w .*\b{symbol}$", text, re.M)
    return int(m.group(1), 16) if m else None


def other_static_bytes(text: str, elf: Path) -> int | None:
    """The board's data + bss + heap (board footer) besides the arena and the session storage
    buffer: the runtime's, board layer's and C library's static RAM."""
    ram = re.search(r"data (\d+), bss (\d+), stack reserve \d+, heap (\d+)", text)
    arena, storage = _nm_size(elf, "g_arena"), _nm_size(elf, "g_session")
    if not ram or arena is None or storage is None:
        return None
    return sum(int(v) for v in ram.groups()) - arena - storage


def flash(elf: Path, name: str) -> dict:
    """Flash image (text + data) and its code share: the image less the embedded inputs."""
    from tflm_train.footprint import elf_image_bytes

    image = elf_image_bytes(elf)
    model = (MODELS_DIR / f"{name}.tflite").stat().st_size
    steps = (MODELS_DIR / f"{name}.steps").stat().st_size
    return {"flash_image_bytes": image, "extended_model_bytes": model,
            "steps_file_bytes": steps, "code_bytes": image - model - steps}
