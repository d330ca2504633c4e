#!/usr/bin/env bash
# Runs every test: installs first if needed, then the Bazel tests (host, and the firmware in
# QEMU for both boards), the fast pytest suite against the sanitized host library, a fuzz smoke
# run, then pytest (all tests, slow ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
echo "[test] bazel test //... (host)"
bazel test //... 2>&1 | grep -E "PASSED|FAILED|SKIPPED|NO STATUS|Executed|ERROR" || true
bazel test //... > /dev/null 2>&1
# Every firmware test wherever it lives (targets/, kernels/firmware, examples/, bench/firmware):
# target_compatible_with keeps host-only targets out of the board builds.
for board in an386 an500; do
  echo "[test] bazel test --config=$board //... (firmware in QEMU)"
  bazel test --config=$board //... 2>&1 | grep -E "PASSED|FAILED|Executed|ERROR" || true
  bazel test --config=$board //... > /dev/null 2>&1
done
echo "[test] fast pytest suite against the ASan + UBSan + float-cast-overflow host library"
scripts/test_sanitized.sh
echo "[test] fuzz smoke (every target, fixed seed)"
fuzz/smoke.sh
echo "[test] pytest"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
