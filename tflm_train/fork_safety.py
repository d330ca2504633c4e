"""Forked workers never start with a lock that a thread of tqdm's held at the fork.

The search runs its fine-tunes and plans on forked workers, and every worker's Trainer makes a
tqdm bar (disabled or not), which takes tqdm's class-wide thread lock. tqdm's monitor thread,
started by the first bar and alive after it closes, wakes every 10 s, takes that lock and
allocates. A fork at that moment gives the child a lock no thread of it will ever release:
tqdm's own (the worker hangs making its bar), or, under the sanitized suite, ASan's allocator
lock (clang 14's allocator has no fork handlers: the worker hangs in its next malloc). Both
were seen as a worker at 0 % CPU and its parent waiting for ever. So before every fork the
monitor is stopped (tqdm starts a new one with its next bar) and tqdm's lock is held, as the
standard library does for its own locks.
"""
from __future__ import annotations

import os
import threading

from tqdm._monitor import TMonitor
from tqdm.std import TqdmDefaultWriteLock

_registered = False
_MONITOR_JOIN_SECONDS = 1.0


def _stop_tqdm_monitors() -> None:
    for thread in threading.enumerate():
        if isinstance(thread, TMonitor) and thread is not threading.current_thread():
            thread.was_killed.set()  # wakes it: it holds nothing once it has returned
            # Bounded: a monitor waiting for tqdm's lock while the forking thread holds it
            # would never return. Waiting for a lock it is not in malloc, and the child (which
            # has no monitor) gets the lock from its forking thread.
            thread.join(_MONITOR_JOIN_SECONDS)


def _before_fork() -> None:
    _stop_tqdm_monitors()
    TqdmDefaultWriteLock.th_lock.acquire()


def hold_tqdm_lock_across_fork() -> None:
    """Registers the fork handlers once per process (idempotent)."""
    global _registered
    if _registered or not hasattr(os, "register_at_fork"):
        return
    lock = TqdmDefaultWriteLock.th_lock
    # Only the thread lock: the multiprocessing lock beside it is a semaphore the processes
    # share, which its holder in the parent releases for the child too.
    os.register_at_fork(before=_before_fork, after_in_parent=lock.release,
                        after_in_child=lock.release)
    _registered = True
