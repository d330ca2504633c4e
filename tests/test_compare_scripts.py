"""The host = board comparison scripts pass only on complete, equal outputs: a board or host
side that printed nothing, or lost the lines compared, must fail even when both sides agree.
Each script runs with a stand-in for run_qemu.sh that prints a given text (no QEMU needed)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TRAIN = ("step 0 label 3 loss 0x3f8ccccd\nstep 1 label 7 loss 0x3f800000\n"
         "tensor 5 4\n01020304\nchecksum 0x1234abcd\n")
INFER = "infer 0 out 7f80 fnv 0x0000abcd\ninfer 1 out 0001 fnv 0x00001234\nchecksum 0x89abcdef\n"
CHECKPOINT = "model id 0x73f17282\nweights crc 0x4a53e823\n"

SCRIPTS = [
    ("examples/firmware/train/compare_test.sh", TRAIN),
    ("bench/firmware/infer/compare_test.sh", INFER),
    ("examples/firmware/checkpoint/compare_test.sh", CHECKPOINT),
]
# script, a complete output, lines whose loss must fail the comparison
CASES = [
    ("examples/firmware/train/compare_test.sh", TRAIN, "checksum 0x1234abcd\n"),
    ("examples/firmware/train/compare_test.sh", TRAIN, "tensor 5 4\n01020304\n"),
    ("bench/firmware/infer/compare_test.sh", INFER, "checksum 0x89abcdef\n"),
    ("examples/firmware/checkpoint/compare_test.sh", CHECKPOINT, "weights crc 0x4a53e823\n"),
]
_IDS = [f"{c[0].split('/')[-2]}-{c[2].split()[0]}" for c in CASES]


def compare(tmp_path: Path, script: str, host: str, board: str) -> subprocess.CompletedProcess:
    (tmp_path / "board.txt").write_text(board)
    runner = tmp_path / "run_qemu.sh"
    runner.write_text(f"#!/bin/sh\ncat '{tmp_path / 'board.txt'}'\n")
    runner.chmod(0o755)
    (tmp_path / "host.txt").write_text(host)
    return subprocess.run([str(ROOT / script), "an386", str(runner), "fw.elf",
                           str(tmp_path / "host.txt")], capture_output=True, text=True)


@pytest.mark.parametrize("script,full", SCRIPTS, ids=[c[0].split("/")[-2] for c in SCRIPTS])
def test_equal_complete_outputs_pass(tmp_path, script, full):
    run = compare(tmp_path, script, full, full)
    assert run.returncode == 0, run.stdout
    assert "PASS" in run.stdout


@pytest.mark.parametrize("script,full", SCRIPTS, ids=[c[0].split("/")[-2] for c in SCRIPTS])
def test_empty_outputs_fail(tmp_path, script, full):
    for host, board, side in [("", "", "host"), (full, "", "board"), ("", full, "host")]:
        run = compare(tmp_path, script, host, board)
        assert run.returncode != 0, (host, board, run.stdout)
        assert f"FAIL: the {side} output has" in run.stdout


@pytest.mark.parametrize("script,full,missing", CASES, ids=_IDS)
def test_outputs_missing_the_compared_lines_fail(tmp_path, script, full, missing):
    partial = full.replace(missing, "")
    run = compare(tmp_path, script, partial, partial)
    assert run.returncode != 0, run.stdout
    assert "FAIL: the host output has" in run.stdout


@pytest.mark.parametrize("script,full,missing", CASES, ids=_IDS)
def test_different_outputs_fail(tmp_path, script, full, missing):
    last = missing.rstrip("\n")[-1]
    changed = full.replace(missing, missing.rstrip("\n")[:-1] + ("0" if last != "0" else "1") + "\n")
    assert changed != full
    run = compare(tmp_path, script, full, changed)
    assert run.returncode != 0, run.stdout
