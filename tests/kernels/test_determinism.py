"""Host == every Cortex-M board: every training kernel gives the same bytes on x86-64 and on the
QEMU boards (M4F, M7, M33, the FPU-less M3, M55; the digests of tests/native/training_shim.cc)."""
from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

def _bzl(name: str):
    """A literal of targets/boards.bzl (the one definition of the boards' CPU flags)."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "targets" / "boards.bzl").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            return ast.literal_eval(node.value)
    raise KeyError(name)


# Every Cortex-M board: M4F, M7, M33, M3 (soft-float), M55 (rv32 has no arm-none-eabi build:
# tests/test_soft_float.py and its firmware tests cover it).
_BOARDS = {b: f for b, f in _bzl("CPU_FLAGS").items() if b not in _bzl("TOOL_PREFIX")}


@pytest.mark.parametrize("board", sorted(_BOARDS))
def test_bit_identical_on_host_and_boards(training, board, tmp_path):
    """Every kernel gives the same bytes on x86-64 and on the Cortex-M boards under QEMU.

    The shim is cross-compiled directly with main() (-DTTS_FIRMWARE_MAIN) and the project's
    float flags; the board layer is taken from the last commit so a colleague's in-progress edit
    cannot break this test. (A build with -ffp-contract=fast changes most digests on the M4F.)
    """
    if not (shutil.which("arm-none-eabi-g++") and shutil.which("qemu-system-arm")):
        pytest.skip("arm-none-eabi-g++ / qemu-system-arm not installed")
    root = Path(__file__).resolve().parents[2]
    board_dir = tmp_path / "targets" / "board"
    board_dir.mkdir(parents=True)
    for path in ("board/board.h", "board/board.cc", "board/board_cortex_m.cc", "board/startup.cc",
                 "board/common.ld",
                 f"qemu/{board}.ld"):
        text = subprocess.run(["git", "show", f"HEAD:targets/{path}"], cwd=root,
                              check=True, capture_output=True).stdout
        (board_dir / path.split("/")[1]).write_bytes(text)
    elf = tmp_path / "digest.elf"
    sources = sorted(str(p) for p in (root / "kernels" / "training").glob("*.cc"))
    sources += [str(root / "tests" / "native" / "training_shim.cc"),
                str(board_dir / "board.cc"), str(board_dir / "board_cortex_m.cc"),
                str(board_dir / "startup.cc")]
    subprocess.run(["arm-none-eabi-g++", *_BOARDS[board],
                    "-std=c++17", "-fno-exceptions", "-fno-rtti", "-O2", "-ffp-contract=off",
                    "-fno-fast-math", "-ffunction-sections", "-fdata-sections",
                    f"-I{tmp_path}", f"-I{root}", "-DTTS_FIRMWARE_MAIN",
                    "--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles",
                    "-Wl,--gc-sections", f"-L{board_dir}", "-T", str(board_dir / f"{board}.ld"),
                    *sources, "-o", str(elf)], check=True, capture_output=True)
    run = subprocess.run([str(root / "targets" / "qemu" / "run_qemu.sh"), board, str(elf)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    board_digests = [int(line.split()[2], 16) for line in run.stdout.splitlines()
                     if line.startswith("digest ")]
    host = training.determinism_digest()
    assert board_digests == list(host.digest)
