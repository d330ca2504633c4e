"""Builds (with Bazel) and loads the test-only shim libraries in tests/native/."""
from __future__ import annotations

import ctypes
import functools
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Shims built elsewhere (the sanitized ones of scripts/build_sanitized.sh), read once at import
# (tests/conftest.py then clears the variable so child processes do not inherit it).
SHIM_DIR = os.environ.get("TFLM_TRAIN_SHIM_DIR")


@functools.lru_cache(maxsize=None)
def load_shim(name: str) -> ctypes.CDLL:
    """Build //tests/native:lib<name>.so and return it loaded; `name` is e.g. 'forward_shim'.
    With TFLM_TRAIN_SHIM_DIR=dir, load dir/lib<name>.so instead."""
    if SHIM_DIR:
        return ctypes.CDLL(str(Path(SHIM_DIR) / f"lib{name}.so"))
    target = f"//tests/native:lib{name}.so"
    subprocess.run(["bazel", "build", "-c", "opt", target], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return ctypes.CDLL(str(ROOT / "bazel-bin" / "tests" / "native" / f"lib{name}.so"))
