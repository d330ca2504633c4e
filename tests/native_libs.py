"""Builds (with Bazel) and loads the test-only shim libraries in tests/native/."""
from __future__ import annotations

import ctypes
import functools
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=None)
def load_shim(name: str) -> ctypes.CDLL:
    """Build //tests/native:lib<name>.so and return it loaded; `name` is e.g. 'forward_shim'.

    TFLM_TRAIN_SHIM_DIR=dir loads dir/lib<name>.so instead, built elsewhere (the sanitized
    shims of scripts/build_sanitized.sh)."""
    shim_dir = os.environ.get("TFLM_TRAIN_SHIM_DIR")
    if shim_dir:
        return ctypes.CDLL(str(Path(shim_dir) / f"lib{name}.so"))
    target = f"//tests/native:lib{name}.so"
    subprocess.run(["bazel", "build", "-c", "opt", target], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return ctypes.CDLL(str(ROOT / "bazel-bin" / "tests" / "native" / f"lib{name}.so"))
