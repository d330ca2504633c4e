"""Forked workers never start with tqdm's thread lock held.

The search runs its fine-tunes and plans on forked workers, and every worker's Trainer makes a
tqdm bar (disabled or not), which takes tqdm's class-wide thread lock. tqdm's monitor thread
takes the same lock every 10 s. A fork while the monitor holds it gives the child a lock that
no thread of the child will ever release: the worker hangs at 0 % CPU and its parent waits on it
for ever (seen in the test suite under load). Holding the lock across every fork, as the
standard library does for its own locks, leaves the child a lock it can release.
"""
from __future__ import annotations

import os

from tqdm.std import TqdmDefaultWriteLock

_registered = False


def hold_tqdm_lock_across_fork() -> None:
    """Registers the fork handlers once per process (idempotent)."""
    global _registered
    if _registered or not hasattr(os, "register_at_fork"):
        return
    lock = TqdmDefaultWriteLock.th_lock
    # Only the thread lock: the multiprocessing lock beside it is a semaphore the processes
    # share, which its holder in the parent releases for the child too.
    os.register_at_fork(before=lock.acquire, after_in_parent=lock.release,
                        after_in_child=lock.release)
    _registered = True
