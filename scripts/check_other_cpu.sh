#!/usr/bin/env bash
# Runs pytest as if on an older CPU: TensorFlow's oneDNN kernels capped at SSE4.1 and numpy's
# run-time dispatched SIMD paths switched off, so float results that depend on the CPU come
# out different (a zoo model rebuilt this way differs from the committed one in ~11,000 bytes).
# A test that still passes does not depend on this machine's float behaviour.
#
#   scripts/check_other_cpu.sh [pytest args]    # default: the whole suite
set -euo pipefail
cd "$(dirname "$0")/.."
features=$(.venv/bin/python -c "
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
print(' '.join(f for f in __cpu_dispatch__ if __cpu_features__.get(f)))")
echo "[other-cpu] ONEDNN_MAX_CPU_ISA=SSE41, numpy dispatch off: ${features:-none}"
export ONEDNN_MAX_CPU_ISA=SSE41 NPY_DISABLE_CPU_FEATURES="$features"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
