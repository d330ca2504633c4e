"""TFLM_TRAIN_LIB selects the host library the binding loads (README "Reliability")."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SANITIZED = ROOT / "build" / "sanitized" / "libtflm_train_asan.so"
LOAD = "from tflm_train._native import library; print(library()._name)"


def run(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "TFLM_TRAIN_LIB")}
    return subprocess.run([sys.executable, "-c", LOAD], env={**clean, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_default_is_the_bazel_build():
    result = run({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("libtflm_train.so")


def test_a_missing_selected_library_is_named():
    result = run({"TFLM_TRAIN_LIB": "/nonexistent/libtflm_train_asan.so"})
    assert result.returncode != 0
    assert ("TFLM_TRAIN_LIB=/nonexistent/libtflm_train_asan.so: no such library file"
            in result.stderr)


@pytest.mark.skipif(not SANITIZED.exists(), reason="scripts/build_sanitized.sh not run")
def test_sanitized_library_without_preloaded_runtime_says_how():
    # Loading it plainly would make ASan abort the whole interpreter; the binding refuses first.
    result = run({"TFLM_TRAIN_LIB": str(SANITIZED)})
    assert result.returncode != 0
    assert "LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so)" in result.stderr


@pytest.mark.skipif(not SANITIZED.exists(), reason="scripts/build_sanitized.sh not run")
def test_sanitized_library_loads_with_the_runtime_preloaded():
    runtime = subprocess.run(["clang", "-print-file-name=libclang_rt.asan-x86_64.so"],
                             capture_output=True, text=True).stdout.strip()
    result = run({"TFLM_TRAIN_LIB": str(SANITIZED), "LD_PRELOAD": runtime,
                  "ASAN_OPTIONS": "detect_leaks=0"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(SANITIZED)
