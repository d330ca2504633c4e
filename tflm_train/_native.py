"""Loads the host build of the C++ runtime (the same sources as the firmware) through ctypes.

TFLM_TRAIN_LIB=path selects another build of the same library, e.g. the sanitized one from
scripts/build_sanitized.sh (see scripts/test_sanitized.sh for the environment it needs)."""
from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (
    _HERE / "_lib" / "libtflm_train.so",
    _HERE.parent / "bazel-bin" / "tflm_train" / "libtflm_train.so",
)
LIBRARY_VARIABLE = "TFLM_TRAIN_LIB"
# An ASan library loaded by an uninstrumented Python aborts the whole process unless the ASan
# runtime was preloaded; these names mark a library that needs it, and a loaded runtime.
_ASAN_RUNTIMES = (b"libclang_rt.asan", b"libasan.so")


class NativeLibraryMissing(RuntimeError):
    """The C++ host library has not been built."""


def _needs_asan_runtime(path: Path) -> bool:
    return any(name in path.read_bytes() for name in _ASAN_RUNTIMES)


def _asan_runtime_loaded() -> bool:
    try:
        maps = Path("/proc/self/maps").read_bytes()
    except OSError:
        return True  # cannot tell: let the loader decide
    return any(name in maps for name in _ASAN_RUNTIMES)


def _load_selected(value: str) -> ctypes.CDLL:
    path = Path(value)
    if not path.is_file():
        raise NativeLibraryMissing(f"{LIBRARY_VARIABLE}={value}: no such library file")
    if _needs_asan_runtime(path) and not _asan_runtime_loaded():
        raise NativeLibraryMissing(
            f"{LIBRARY_VARIABLE}={value} is built with AddressSanitizer, whose runtime must be "
            "loaded before Python starts: run with LD_PRELOAD=$(clang -print-file-name="
            "libclang_rt.asan-x86_64.so) ASAN_OPTIONS=detect_leaks=0 (scripts/test_sanitized.sh)"
        )
    return ctypes.CDLL(str(path))


@functools.lru_cache(maxsize=None)
def library() -> ctypes.CDLL:
    """Return the loaded host library, building nothing: run scripts/build_host.sh first."""
    selected = os.environ.get(LIBRARY_VARIABLE)
    if selected:
        return _load_selected(selected)
    for path in _CANDIDATES:
        if path.exists():
            return ctypes.CDLL(str(path))
    raise NativeLibraryMissing(
        "the tflm_train C++ host library is not built; run scripts/build_host.sh "
        f"(looked in: {', '.join(str(p) for p in _CANDIDATES)})"
    )
