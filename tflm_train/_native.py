"""Loads the host build of the C++ runtime (the same sources as the firmware) through ctypes."""
from __future__ import annotations

import ctypes
import functools
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (
    _HERE / "_lib" / "libtflm_train.so",
    _HERE.parent / "bazel-bin" / "tflm_train" / "libtflm_train.so",
)


class NativeLibraryMissing(RuntimeError):
    """The C++ host library has not been built."""


@functools.lru_cache(maxsize=None)
def library() -> ctypes.CDLL:
    """Return the loaded host library, building nothing: run scripts/build_host.sh first."""
    for path in _CANDIDATES:
        if path.exists():
            return ctypes.CDLL(str(path))
    raise NativeLibraryMissing(
        "the tflm_train C++ host library is not built; run scripts/build_host.sh "
        f"(looked in: {', '.join(str(p) for p in _CANDIDATES)})"
    )
