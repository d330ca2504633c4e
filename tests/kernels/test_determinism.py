"""Host == Cortex-M4F == Cortex-M7: every training kernel gives the same bytes on x86-64 and on
both QEMU boards (the digests of tests/native/training_shim.cc)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

_BOARDS = {
    "an386": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16"],
    "an500": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16"],
}


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
    subprocess.run(["arm-none-eabi-g++", "-mthumb", *_BOARDS[board], "-mfloat-abi=hard",
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
