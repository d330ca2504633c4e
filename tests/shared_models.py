"""The models kept beside the checkout in ../shared/models (not in the repository: present in CI
and in scripts/check_fresh_clone.sh), found from the main checkout and from a git worktree one
level deeper. Used by the tests and by fuzz/make_corpus.py."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_models_dir(name: str) -> Path:
    """../shared/models/<name> beside the checkout; where none exists, the path it should have
    (so a caller's message names it)."""
    for base in (ROOT.parent, ROOT.parent.parent):
        d = base / "shared" / "models" / name
        if d.is_dir():
            return d
    return ROOT.parent / "shared" / "models" / name


def tflm_examples_dir() -> Path:
    """The TFLM example models (hello_world, micro_speech, person_detect, ...)."""
    return shared_models_dir("tflm-examples")
