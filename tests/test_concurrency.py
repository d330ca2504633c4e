"""Several training sessions at once: in threads (ctypes releases the GIL, so the C++ really
runs in parallel), interleaved step by step in one thread, and in separate processes, each
gives exactly the bytes of the same run made alone. The host library holds no writable global
state: its only writable data is the toolchain's own bookkeeping."""
from __future__ import annotations

import multiprocessing
import shutil
import subprocess
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tflm_train

from tflm_train.data import DEMO_MODEL as DEMO
SEEDS = (0, 1, 2, 3)


def _extended() -> bytes:
    return tflm_train.convert(DEMO.read_bytes(),
                              tflm_train.SparseUpdate(n_bias=3, weights={-1: 1.0, -2: 0.5}),
                              optimizer=tflm_train.SGD(momentum=0.9, mini_batch=True))


def _data(seed: int):
    rng = np.random.default_rng(100 + seed)
    return rng.random((24, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 24)


def run(seed: int, extended: bytes | None = None) -> tuple[list[float], dict[int, bytes]]:
    """One whole training run for `seed`: per-epoch losses and the trained bytes."""
    tr = tflm_train.Trainer(extended or _extended(), learning_rate=0.05, seed=seed,
                            schedule=tflm_train.LRSchedule(warmup_steps=2, cosine=True))
    x, y = _data(seed)
    hist = tr.fit(x, y, epochs=2, batch_size=4, progress=False)
    return hist.loss, tr.trained_tensors()


@pytest.fixture(scope="module")
def extended() -> bytes:
    return _extended()


@pytest.fixture(scope="module")
def alone(extended):
    return {seed: run(seed, extended) for seed in SEEDS}


def test_runs_differ_by_seed(alone):
    """Otherwise the comparisons below could not tell sessions apart."""
    assert len({repr(alone[s][0]) for s in SEEDS}) == len(SEEDS)


def test_threads_give_the_bytes_of_runs_alone(extended, alone):
    with ThreadPoolExecutor(max_workers=len(SEEDS)) as pool:
        for _ in range(2):
            results = dict(zip(SEEDS, pool.map(lambda s: run(s, extended), SEEDS)))
            assert results == alone


def test_interleaved_sessions_in_one_thread(extended, alone):
    """Steps of four sessions alternate one update at a time: no state leaks between them."""
    trainers = {s: tflm_train.Trainer(extended, learning_rate=0.05, seed=s,
                                      schedule=tflm_train.LRSchedule(warmup_steps=2, cosine=True))
                for s in SEEDS}
    # the same calls fit() makes, one mini-batch of one session at a time
    orders = {}
    for s, tr in trainers.items():
        x, y = _data(s)
        tr._total_steps = 2 * 6
        orders[s] = (tr.quantize_input(x), y, [tr._rng.permutation(24) for _ in range(2)])
    losses = {s: [[], []] for s in SEEDS}
    for epoch in range(2):
        for start in range(0, 24, 4):
            for s, tr in trainers.items():
                xq, y, perms = orders[s]
                batch = perms[epoch][start:start + 4]
                for j, i in enumerate(batch):
                    losses[s][epoch].append(tr._sample(xq[i], y[i], 4, j))
    for s, tr in trainers.items():
        assert [float(np.mean(l)) for l in losses[s]] == alone[s][0]
        assert tr.trained_tensors() == alone[s][1]


@pytest.mark.slow
def test_processes_give_the_bytes_of_runs_alone(alone):
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, not a copy of this one
    with ctx.Pool(2) as pool:
        results = dict(zip(SEEDS, pool.map(run, SEEDS)))
    assert results == alone


def test_library_has_no_writable_global_state():
    """Sessions share nothing because the library has nothing to share: its .data/.bss hold only
    the toolchain's own symbols (crt bookkeeping), never a variable of ours."""
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils, installed with g++) is needed for this check"
    # the production build (a sanitized build, TFLM_TRAIN_LIB, carries the sanitizers' own data)
    library = Path(tflm_train.__file__).resolve().parent / "_lib" / "libtflm_train.so"
    assert library.exists(), f"{library} is not built: scripts/build_host.sh"
    table = subprocess.run([objdump, "-t", str(library)], check=True,
                           capture_output=True, text=True).stdout
    writable = sorted({line.split()[-1] for line in table.splitlines()
                       if len(line.split()) >= 5 and line.split()[-3] in (".data", ".bss")
                       and line.split()[-1] not in (".data", ".bss")})
    toolchain = {"completed.0", "__dso_handle", "__TMC_END__", "__TMC_LIST__", "_edata", "_end",
                 "__bss_start"}
    assert set(writable) <= toolchain, f"writable globals in the library: {writable}"
