"""Arduino library (examples/arduino): the SerialTrainer sketch's replies equal the Python
binding's numbers for the same steps (mini-batches, checkpoint save/restore), and the library zip carries the repository's runtime and
kernel sources unchanged (apart from the .cpp rename and the fp-contract pragma).

The board side (the sketch in QEMU, and the sketch built from the zip like an Arduino build)
is tested by `bazel test --config=an386|an500 //examples/arduino:all` against the host twin
used here; this file ties the host twin to the Python Trainer's runtime.
"""
import re
import struct
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tflm_train.binding import NativeSession, SimFlash, checkpoint_restore, checkpoint_save

ROOT = Path(__file__).resolve().parent.parent
PKG = "//examples/arduino"
MODEL = ROOT / "examples" / "firmware" / "train" / "demo" / "model.tflite"
LEARNING_RATE = np.float32(0.02)  # kLearningRate in SerialTrainer.ino
BATCH = 8                         # kBatchSize in SerialTrainer.ino
SEED = 1                          # kSeed in SerialTrainer.ino
PRAGMA = b'#pragma GCC optimize("fp-contract=off")'


def bazel_build(*targets: str) -> None:
    proc = subprocess.run(["bazel", "build", *targets], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bazel build {' '.join(targets)} failed:\n{proc.stderr[-3000:]}")


def bin_path(name: str) -> Path:
    out = subprocess.run(["bazel", "info", "bazel-bin"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    return Path(out) / "examples" / "arduino" / name


def fnv1a(h: int, data: bytes) -> int:
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def float_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


@pytest.fixture(scope="module")
def twin_run():
    bazel_build(f"{PKG}:serial_trainer_host", f"{PKG}:session")
    session = bin_path("session.txt").read_text()
    replies = subprocess.run([str(bin_path("serial_trainer_host"))], input=session,
                             capture_output=True, text=True, timeout=300, check=True).stdout
    return session.splitlines(), [l for l in replies.replace("\r", "").splitlines()
                                  if re.match(r"(READY|OK|ERR) ", l)]


def test_sketch_replies_equal_binding(twin_run):
    lines, replies = twin_run
    s = NativeSession(MODEL.read_bytes(), seed=SEED)
    flash = SimFlash(64 * 1024, 4 * 1024)  # shim/host_flash.cpp's geometry
    n_in = s.input_view().size
    assert replies[0].startswith(f"READY {n_in} ") and replies[0].endswith(" steps 0")
    steps = 0
    want = [replies[0]]
    for line in lines:
        cmd, _, rest = line.partition(" ")
        if cmd == "T":
            label, hexdata = rest.split()
            loss = s.train_step(np.frombuffer(bytes.fromhex(hexdata), np.int8), int(label),
                                float(LEARNING_RATE), "stochastic", batch_size=BATCH,
                                sample_in_batch=steps % BATCH)
            steps += 1
            want.append(f"OK T {steps} {float_bits(loss):X}")
        elif cmd == "S":
            r = checkpoint_save(s, flash, steps)
            want.append(f"OK S {steps} {r['slot']} {r['sequence']}")
        elif cmd == "R":
            r = checkpoint_restore(s, flash)
            steps = r["step"]
            want.append(f"OK R {steps} {r['slot']} {r['sequence']}")
        elif cmd == "P" and len(rest) == 2 * n_in:
            out = s.invoke(np.frombuffer(bytes.fromhex(rest), np.int8))
            want.append(f"OK P {int(np.argmax(out))} " + " ".join(str(int(v)) for v in out))
        elif cmd == "H":
            h = 2166136261
            for t in s.trained_tensors():
                h = fnv1a(h, s.tensor_bytes(t))
            want.append(f"OK H {steps} {h:X}")
        else:
            want.append("ERR")
    # The loss is compared by its float32 bits; the 6-decimal rendering is the sketch's own.
    got = [re.sub(r"^(OK T \d+) \S+ ", r"\1 ", r) for r in replies]
    got = ["ERR" if r.startswith("ERR ") else r for r in got]
    assert sum(r.startswith("OK T ") for r in got) >= 64 and any(r.startswith("OK P ") for r in got)
    assert any(r.startswith("OK S ") for r in got) and any(r.startswith("OK R ") for r in got)
    hashes = [r for r in got if r.startswith("OK H ")]
    saved = hashes[1]  # after the first training run, at S
    assert saved.startswith("OK H 56 ") and hashes[3] == saved  # right after R
    assert got == want


def test_zip_carries_the_repository_sources():
    bazel_build(f"{PKG}:zip")
    z = zipfile.ZipFile(bin_path("TflmTrain.zip"))
    names = set(z.namelist())
    # The runtime's cc_library globs these three directories (not their subdirectories).
    sources = [p for d in ("kernels", "kernels/training", "tflm_train/runtime")
               for p in sorted((ROOT / d).glob("*")) if p.suffix in (".cc", ".h")]
    assert len(sources) > 40
    for p in sources:
        rel = p.relative_to(ROOT).as_posix()
        dest = "TflmTrain/src/" + (rel[:-3] + ".cpp" if rel.endswith(".cc") else rel)
        assert dest in names, f"{rel} is not in the zip"
        data = z.read(dest)
        if dest.endswith(".cpp"):
            assert data.startswith(PRAGMA)
            data = data.split(b"\n", 2)[2]  # the pragma and `#line 1`
        assert data == p.read_bytes(), f"{dest} differs from {rel}"
    lib = ROOT / "examples" / "arduino" / "TflmTrain"
    for p in lib.rglob("*"):
        if p.is_file():
            dest = "TflmTrain/" + p.relative_to(lib).as_posix()
            assert dest in names and z.read(dest).endswith(p.read_bytes())
