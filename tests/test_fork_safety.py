"""A fork while another thread holds tqdm's lock (as tqdm's monitor thread does every 10 s)
must not leave the forked worker a lock nobody releases."""
from __future__ import annotations

import multiprocessing
import threading

import pytest
from tqdm._monitor import TMonitor
from tqdm.std import TqdmDefaultWriteLock

import tflm_train  # noqa: F401  (registers the fork handlers)


def _make_a_bar(done) -> None:
    from tqdm.auto import tqdm
    tqdm(total=1, disable=True).close()  # takes tqdm's lock, as every Trainer.fit does
    done.set()


@pytest.mark.forks
def test_a_worker_forked_while_tqdm_is_locked_still_runs():
    lock = TqdmDefaultWriteLock.th_lock
    held, release = threading.Event(), threading.Event()

    def monitor_like():
        with lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=monitor_like)
    thread.start()
    held.wait(10)
    ctx = multiprocessing.get_context("fork")
    done = ctx.Event()
    child = ctx.Process(target=_make_a_bar, args=(done,))
    # The fork waits for the lock: let the holder go a moment after start() blocks on it.
    threading.Timer(0.5, release.set).start()
    child.start()
    child.join(30)
    thread.join(10)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and done.is_set(), "the forked worker hung on tqdm's inherited lock"
    assert child.exitcode == 0


def _exit_zero() -> None:
    pass


@pytest.mark.forks
def test_no_tqdm_monitor_thread_runs_across_a_fork():
    # A monitor allocating at the fork would leave the child ASan's allocator lock held (the
    # sanitized suite's hang); it is stopped before the fork and comes back with the next bar.
    from tqdm.auto import tqdm
    tqdm(total=1, disable=True).close()
    monitors = [t for t in threading.enumerate() if isinstance(t, TMonitor)]
    assert monitors, "tqdm started no monitor thread: the test no longer sees what it checks"
    child = multiprocessing.get_context("fork").Process(target=_exit_zero)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert not any(t.is_alive() for t in monitors)
    tqdm(total=1, disable=True).close()
    assert any(isinstance(t, TMonitor) and t.is_alive() for t in threading.enumerate())


_FORK_HOLDING_THE_LOCK = """
import multiprocessing, threading, time
import tflm_train
from tqdm._monitor import TMonitor
from tqdm.auto import tqdm
def bar():
    tqdm(total=1, disable=True).close()
lock = tqdm.get_lock()
monitor = TMonitor(tqdm, 0.01)  # wakes every 10 ms, so it soon waits on the held lock
with lock:
    time.sleep(0.2)
    child = multiprocessing.get_context("fork").Process(target=bar)
    child.start()
child.join(30)
assert child.exitcode == 0, child.exitcode
"""


@pytest.mark.forks
def test_a_fork_inside_tqdms_lock_does_not_wait_for_its_monitor():
    # The monitor cannot return while the forking thread holds the lock it waits for: stopping
    # it before the fork must not wait for ever.
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", _FORK_HOLDING_THE_LOCK], timeout=120,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
