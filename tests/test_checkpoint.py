"""Checkpoints in NOR flash (tflm_train/runtime/checkpoint.h) through the C API.

The flash is the runtime's own simulated NOR device (flash_sim.h): erase sets a page to 0xFF,
program can only clear bits and refuses a unit that is not erased, and a power cut can be
injected at any flash operation (each programmed write unit and each page erase is one), leaving
that operation torn (a random mix of old and new bits) and everything after it lost.

Fault injection: for a save in each situation (first ever, second, overwriting an older valid
slot) and each flash geometry, the power is cut at EVERY operation index of the save, with
several seeds for the torn bits; after the "reboot" a fresh session restores, and must get
exactly the previous checkpoint or exactly the new one (the new one only once its commit unit was
reached), never garbage and never an error when a good checkpoint existed. The flash must then
still accept a new save.
"""
from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import tflm_train
from tflm_train.binding import (CheckpointError, NativeSession, SimFlash, checkpoint_erase,
                                checkpoint_model_id, checkpoint_restore, checkpoint_save)
from tflm_train.data import DEMO_MODEL

ROOT = Path(__file__).resolve().parents[1]
MODEL = DEMO_MODEL
sys.path.insert(0, str(ROOT / "examples" / "firmware" / "checkpoint"))
import make_model  # noqa: E402
HEADER = struct.Struct("<8I7II")  # magic, version, sequence, model_id, payload_bytes,
#                                   payload_crc, step, n_tensors, reserved[7], header_crc
MAGIC, COMMIT_MAGIC = 0x50435454, 0x54494D43
NONE, CORRUPT, WRONG_MODEL, VERSION, FLASH_ERROR, TOO_LARGE = 16, 17, 18, 19, 20, 21
# (flash size, page size, write unit): nRF52840-like 4 KB pages / 32-bit words, small pages
# (a checkpoint spans several), 8- and 16-byte write units (padding, multi-word commit units).
GEOMETRIES = [(16384, 4096, 4), (8192, 256, 8), (6144, 1024, 16)]


@pytest.fixture(scope="module")
def model_a() -> bytes:
    """Plain SGD, 2632 trained bytes (the QEMU firmware's model adds momentum)."""
    return tflm_train.convert(MODEL.read_bytes(),
                              tflm_train.SparseUpdate(n_bias=3, weights={-1: 1.0, -2: 1.0}))


@pytest.fixture(scope="module")
def model_b() -> bytes:
    """Same network, another update scheme: another training program and payload."""
    return tflm_train.convert(MODEL.read_bytes(),
                              tflm_train.SparseUpdate(n_bias=4, weights={-1: 1.0, -2: 0.5}))


def trained(session: NativeSession) -> bytes:
    return b"".join(session.tensor_bytes(t) for t in session.trained_tensors())


def train(session: NativeSession, steps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = session.input_view().size
    for _ in range(steps):
        x = rng.integers(-128, 128, n, dtype=np.int8)
        session.train_step(x, int(rng.integers(0, 10)), 0.05, "nearest")


def states(model: bytes, count: int) -> list[tuple[NativeSession, bytes]]:
    """`count` sessions whose trained tensors are all different (initial, then more training)."""
    out, previous = [], set()
    for k in range(count):
        s = NativeSession(model)
        if k:
            train(s, 3 * k, seed=k)
        data = trained(s)
        assert data not in previous, "training did not change the trained tensors"
        previous.add(data)
        out.append((s, data))
    return out


def fresh_restore(model: bytes, flash: SimFlash):
    """Boot: a new session from the model file, then restore. Returns (session, report|error)."""
    s = NativeSession(model)
    try:
        return s, checkpoint_restore(s, flash)
    except CheckpointError as e:
        return s, e


# ---- format and round trip ----

def test_round_trip_and_documented_format(model_a):
    (s0, _), (s1, data1) = states(model_a, 2)
    flash = SimFlash(16384, 4096, 4)
    report = checkpoint_save(s1, flash, step=123)
    assert report["slot"] == 0 and report["sequence"] == 1 and report["payload_bytes"] == len(data1)
    assert report["model_id"] == checkpoint_model_id(s0) == checkpoint_model_id(s1)

    raw = flash.memory[:64].tobytes()
    (magic, version, seq, model_id, nbytes, pcrc, step, ntensors, *rest) = HEADER.unpack(raw)
    assert (magic, version, seq, step, nbytes) == (MAGIC, 1, 1, 123, len(data1))
    # then the rounding generator's state (never 0), then 6 reserved zero words
    assert ntensors == len(s1.trained_tensors()) and rest[0] != 0 and rest[1:7] == [0] * 6
    assert rest[7] == zlib.crc32(raw[:60])
    assert pcrc == zlib.crc32(data1)
    assert flash.memory[64:64 + len(data1)].tobytes() == data1
    commit = 64 + -(-len(data1) // 4) * 4
    assert struct.unpack_from("<I", flash.memory, commit)[0] == COMMIT_MAGIC ^ rest[7]
    assert set(flash.memory[commit + 4:].tolist()) == {0xFF}  # nothing else written

    s, got = fresh_restore(model_a, flash)
    assert got["step"] == 123 and got["sequence"] == 1 and got["slot"] == 0
    assert trained(s) == data1


def test_saves_alternate_slots_and_newest_wins(model_a):
    sessions = states(model_a, 4)
    flash = SimFlash(16384, 4096, 4)
    for k, (s, _) in enumerate(sessions):
        r = checkpoint_save(s, flash, step=k)
        assert (r["slot"], r["sequence"]) == (k % 2, k + 1)
        s2, got = fresh_restore(model_a, flash)
        assert got["step"] == k and trained(s2) == sessions[k][1]
    assert flash.slot_state(0) == ("valid", 3) and flash.slot_state(1) == ("valid", 4)


def test_partial_channel_update_round_trip(model_b):
    """Half of a layer's output channels train: only those rows are in SRAM and in the payload."""
    (s0, _), (s1, data1) = states(model_b, 2)
    flash = SimFlash(32768, 4096, 4)
    assert checkpoint_save(s1, flash, step=3)["payload_bytes"] == len(data1)
    s, got = fresh_restore(model_b, flash)
    assert got["step"] == 3 and trained(s) == data1 != trained(s0)


# ---- clear statuses ----

def test_empty_flash(model_a):
    s, err = fresh_restore(model_a, SimFlash(16384, 4096, 4))
    assert isinstance(err, CheckpointError) and err.status == NONE
    assert "both slots are erased" in str(err)


def test_wrong_model_is_refused_and_session_unchanged(model_a, model_b):
    (sa, _), (sa1, _) = states(model_a, 2)
    flash = SimFlash(32768, 4096, 4)
    checkpoint_save(sa1, flash, step=1)
    assert checkpoint_model_id(sa) != checkpoint_model_id(NativeSession(model_b))
    sb, err = fresh_restore(model_b, flash)
    assert isinstance(err, CheckpointError) and err.status == WRONG_MODEL
    assert "written for model id" in str(err)
    assert trained(sb) == trained(NativeSession(model_b))


def test_corrupt_payload_header_and_fallback(model_a):
    (s0, data0), (s1, data1), _ = states(model_a, 3)
    flash = SimFlash(16384, 4096, 4)
    checkpoint_save(s0, flash, step=0)
    good = flash.memory.copy()

    flash.memory[64 + 100] ^= 0x10  # one payload bit
    s, err = fresh_restore(model_a, flash)
    assert isinstance(err, CheckpointError) and err.status == CORRUPT
    assert "slot 0 is corrupt" in str(err) and "slot 1 is erased" in str(err)
    assert trained(s) == trained(NativeSession(model_a))  # unchanged

    flash.memory[:] = good
    flash.memory[8] ^= 0x01  # header (sequence) bit: header CRC fails
    _, err = fresh_restore(model_a, flash)
    assert isinstance(err, CheckpointError) and err.status == CORRUPT

    # Two checkpoints; the newer one damaged: the older one is restored.
    flash.memory[:] = good
    checkpoint_save(s1, flash, step=1)
    assert fresh_restore(model_a, flash)[1]["step"] == 1
    flash.memory[8192 + 64] ^= 0x80
    s, got = fresh_restore(model_a, flash)
    assert got["step"] == 0 and got["slot"] == 0 and trained(s) == data0
    # ... and the next save goes to the damaged slot, never over the good one.
    assert checkpoint_save(s1, flash, step=2)["slot"] == 1


def test_uncommitted_slot_is_not_used(model_a):
    """Header and payload complete and CRC-clean, commit unit still erased: not a checkpoint."""
    (s0, data0), (s1, data1) = states(model_a, 2)
    flash = SimFlash(16384, 4096, 4)
    checkpoint_save(s0, flash, step=0)
    checkpoint_save(s1, flash, step=1)
    commit = 8192 + 64 + -(-len(data1) // 4) * 4
    flash.memory[commit:commit + 4] = 0xFF
    assert flash.slot_state(1) == ("uncommitted", 2)
    s, got = fresh_restore(model_a, flash)
    assert got["sequence"] == 1 and trained(s) == data0
    flash.memory[0:4] = 0  # and without the older one: a clear error, not the uncommitted data
    _, err = fresh_restore(model_a, flash)
    assert err.status == CORRUPT and "slot 1 is an uncommitted (interrupted) save" in str(err)


def test_optimizer_state_is_saved(model_a):
    """Momentum + mini-batch program: velocity and the half-summed batch are in the checkpoint,
    so a restored session continues bit-for-bit like the one that saved."""
    model = tflm_train.convert(MODEL.read_bytes(),
                               tflm_train.SparseUpdate(n_bias=3, weights={-1: 1.0, -2: 1.0}),
                               optimizer=tflm_train.SGD(momentum=0.9, mini_batch=True))
    rng = np.random.default_rng(5)
    a = NativeSession(model)
    n = a.input_view().size
    samples = [(rng.integers(-128, 128, n, dtype=np.int8), int(rng.integers(0, 10)))
               for _ in range(14)]

    def run(session, first, last):
        for i in range(first, last):
            x, label = samples[i]
            session.train_step(x, label, 0.05, "nearest", batch_size=4, sample_in_batch=i % 4)

    run(a, 0, 10)  # two updates and half of the third mini-batch
    flash = SimFlash(65536, 4096, 4)
    info = checkpoint_save(a, flash, step=10)
    tensor_bytes = len(trained(a))
    assert info["payload_bytes"] > tensor_bytes  # + float state per trained parameter
    b, got = fresh_restore(model, flash)
    assert got["step"] == 10 and trained(b) == trained(a)
    run(a, 10, 14)
    run(b, 10, 14)
    assert trained(b) == trained(a)


def test_stochastic_rounding_continues_after_restore(model_a):
    """The rounding generator's state is in the checkpoint: a session restored from it (opened
    with another seed) makes exactly the stochastic roundings the saving session makes next."""
    rng = np.random.default_rng(8)
    a = NativeSession(model_a, seed=11)
    n = a.input_view().size
    samples = [(rng.integers(-128, 128, n, dtype=np.int8), int(rng.integers(0, 10)))
               for _ in range(8)]
    for x, label in samples[:4]:
        a.train_step(x, label, 0.05, "stochastic")
    flash = SimFlash(65536, 4096, 4)
    checkpoint_save(a, flash, step=4)
    b = NativeSession(model_a, seed=99)
    checkpoint_restore(b, flash)
    assert trained(b) == trained(a)
    for x, label in samples[4:]:
        a.train_step(x, label, 0.05, "stochastic")
        b.train_step(x, label, 0.05, "stochastic")
    assert trained(b) == trained(a)
    # (opened with seed 99, b would round differently without the restored state)
    assert struct.unpack("<I", flash.memory[32:36].tobytes())[0] != 0


def test_other_format_version(model_a):
    (s, _), = states(model_a, 1)
    flash = SimFlash(16384, 4096, 4)
    checkpoint_save(s, flash)
    header = bytearray(flash.memory[:64].tobytes())
    header[4:8] = struct.pack("<I", 2)
    header[60:64] = struct.pack("<I", zlib.crc32(bytes(header[:60])))
    flash.memory[:64] = np.frombuffer(bytes(header), dtype=np.uint8)
    _, err = fresh_restore(model_a, flash)
    assert isinstance(err, CheckpointError) and err.status == VERSION
    assert "format version 2" in str(err)


def test_bad_geometry_and_too_small(model_a):
    with pytest.raises(ValueError, match="unusable flash geometry"):
        SimFlash(4096, 1000, 3)
    (s, _), = states(model_a, 1)
    with pytest.raises(CheckpointError, match="do not fit a slot") as e:
        checkpoint_save(s, SimFlash(2048, 1024, 4))
    assert e.value.status == TOO_LARGE
    with pytest.raises(CheckpointError, match="cannot hold two slots"):
        checkpoint_save(s, SimFlash(4096, 4096, 4))  # one page: no second slot

    class NoFlash:  # a null device pointer through the C API
        device = None
    for call in (lambda: checkpoint_save(s, NoFlash()), lambda: checkpoint_restore(s, NoFlash())):
        with pytest.raises(CheckpointError, match="flash device .* is null") as e:
            call()
        assert e.value.status == 4


def test_erase_discards_everything(model_a):
    (s, _), = states(model_a, 1)
    flash = SimFlash(16384, 4096, 4)
    checkpoint_save(s, flash)
    checkpoint_erase(flash)
    assert fresh_restore(model_a, flash)[1].status == NONE


def test_device_error_is_reported_and_previous_kept(model_a):
    (s0, data0), (s1, _) = states(model_a, 2)
    flash = SimFlash(16384, 4096, 4)
    checkpoint_save(s0, flash, step=5)
    # Power lost at the save's first operation (erasing slot 1's first page).
    flash.cut_at(0, seed=3)
    with pytest.raises(CheckpointError, match="erasing flash page") as e:
        checkpoint_save(s1, flash, step=6)
    assert e.value.status == FLASH_ERROR
    flash.power_on()
    s, got = fresh_restore(model_a, flash)
    assert got["step"] == 5 and trained(s) == data0


# ---- fault injection: a power cut at every flash operation of a save ----

def _prepare(model, geometry, history):
    """Flash after `history` uncut saves of successive states, the next state to save, and the
    number of operations an uncut save of it takes."""
    sessions = states(model, history + 1)
    flash = SimFlash(*geometry)
    for k in range(history):
        checkpoint_save(sessions[k][0], flash, step=k)
    image = flash.memory.copy()
    ops_before = flash.operations
    checkpoint_save(sessions[history][0], flash, step=history)
    n_ops = flash.operations - ops_before
    flash.memory[:] = image
    return sessions, flash, image, n_ops


def _sweep(model, geometry, history, cuts, seeds):
    sessions, flash, image, n_ops = _prepare(model, geometry, history)
    new = sessions[history]
    previous = sessions[history - 1][1] if history else None
    outcomes = {"old": 0, "new": 0, "none": 0}
    for cut in cuts(n_ops):
        for seed in seeds:
            flash.memory[:] = image
            flash.power_on()
            flash.cut_at(cut, seed)
            try:
                checkpoint_save(new[0], flash, step=history)
                assert cut >= n_ops, f"save reported success although power was cut at {cut}"
            except CheckpointError as e:
                assert cut < n_ops and e.status == FLASH_ERROR, (cut, str(e))
            flash.power_on()  # reboot
            s, got = fresh_restore(model, flash)
            where = f"geometry {geometry}, history {history}, cut at {cut}/{n_ops}, seed {seed}"
            if isinstance(got, CheckpointError):
                # Only allowed when no good checkpoint existed before this save.
                assert previous is None, f"{where}: lost the previous checkpoint: {got}"
                assert got.status in (NONE, CORRUPT), where
                assert trained(s) == trained(NativeSession(model)), where
                outcomes["none"] += 1
                continue
            data = trained(s)
            if data == new[1]:
                # The new checkpoint may only win once its commit unit (last operation) started.
                assert cut >= n_ops - 1 and got["step"] == history, where
                outcomes["new"] += 1
            else:
                assert data == previous and got["step"] == history - 1, f"{where}: garbage restored"
                assert cut < n_ops, where
                outcomes["old"] += 1
            # The flash stays usable: the next save and restore work.
            flash.power_on()
            nxt = sessions[0] if history else sessions[-1]
            checkpoint_save(nxt[0], flash, step=99)
            s, got = fresh_restore(model, flash)
            assert got["step"] == 99 and trained(s) == nxt[1], where
    return n_ops, outcomes


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("history", [0, 1, 2])
def test_power_cut_at_every_operation(model_a, geometry, history):
    n_ops, outcomes = _sweep(model_a, geometry, history, lambda n: range(n + 2), seeds=(1, 2))
    assert n_ops > 100  # the save really is many operations (erases + every write unit)
    if history:
        assert outcomes["old"] >= 2 * n_ops - 2 and outcomes["new"] >= 4
    else:
        assert outcomes["none"] >= 2 * n_ops - 2


@pytest.mark.slow
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_power_cut_many_torn_bit_patterns(model_a, geometry):
    """Every cut point again with 16 torn-bit seeds (header, payload, commit unit, erase)."""
    _sweep(model_a, geometry, 2, lambda n: range(n + 1), seeds=range(10, 26))


def test_firmware_model_is_current():
    """The QEMU firmware's embedded model is what make_model.py writes with today's converter."""
    assert make_model.OUTPUT.read_bytes() == make_model.build(), (
        "examples/firmware/checkpoint/model.tflite is stale: run "
        ".venv/bin/python examples/firmware/checkpoint/make_model.py")


def test_trainer_checkpoint_file(model_a, tmp_path):
    """Trainer.save_checkpoint / load_checkpoint: a flash image file in the boards' format."""
    rng = np.random.default_rng(0)
    x = rng.random((6, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 6)
    tr = tflm_train.Trainer(model_a, learning_rate=0.05, seed=1)
    tr.fit(x[:3], y[:3], progress=False)
    path = tmp_path / "ckpt.bin"
    first = tr.save_checkpoint(path)
    saved = tr.trained_tensors()
    tr.fit(x[3:], y[3:], progress=False)
    second = tr.save_checkpoint(path)
    assert (first["slot"], second["slot"], second["sequence"]) == (0, 1, 2)
    assert path.stat().st_size == 65536

    other = tflm_train.Trainer(model_a, seed=2)
    info = other.load_checkpoint(path)
    assert info["step"] == tr.updates == other.updates == 6
    assert other.trained_tensors() == tr.trained_tensors() != saved
    with pytest.raises(CheckpointError, match="written for model id"):
        tflm_train.Trainer(tflm_train.convert(MODEL.read_bytes(), tflm_train.SparseUpdate(n_bias=1))
                           ).load_checkpoint(path)
