"""Test-wide settings: every random corpus is reproducible on any machine."""
import os

from hypothesis import settings

from tests import native_libs  # noqa: F401  (reads TFLM_TRAIN_SHIM_DIR before it is cleared)
from tflm_train import _native

# scripts/test_sanitized.sh preloads the ASan runtime into this Python and selects the sanitized
# libraries. Load them now, then keep child processes (compilers, Bazel, QEMU, a test's own
# sanitizer build, the CLI) out of it: they would inherit a runtime they were not built for.
if os.environ.get(_native.LIBRARY_VARIABLE):
    _native.library()
    for variable in ("LD_PRELOAD", _native.LIBRARY_VARIABLE, "TFLM_TRAIN_SHIM_DIR"):
        os.environ.pop(variable, None)

# Hypothesis draws from a seed derived from each test's name instead of a fresh random one, so a
# failure reproduces by rerunning the same test; no example database is read or written, so a
# run does not depend on what an earlier run on this machine happened to find.
settings.register_profile("reproducible", derandomize=True, database=None, print_blob=True)
settings.load_profile("reproducible")
