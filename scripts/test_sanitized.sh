#!/usr/bin/env bash
# Runs the fast pytest suite (-m "not slow") against the ASan + UBSan + float-cast-overflow build
# of the host library and the test shims (scripts/build_sanitized.sh). Any sanitizer report
# aborts the test process; the report is written to build/sanitized/reports/ (pytest's capture
# would swallow it) and printed here. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build_sanitized.sh > /dev/null
reports=$PWD/build/sanitized/reports
rm -rf "$reports"
mkdir -p "$reports"
# Python itself is not instrumented: the ASan runtime has to be the first library loaded.
# Leak checking is off because the interpreter's own allocations look leaked at exit.
export LD_PRELOAD
LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$reports/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan
export TFLM_TRAIN_LIB=$PWD/build/sanitized/libtflm_train_asan.so
export TFLM_TRAIN_SHIM_DIR=$PWD/build/sanitized
echo "[test] pytest -m 'not slow and not forks' against $TFLM_TRAIN_LIB"
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider -m "not slow and not forks" "$@" || status=$?
# Tests that fork workers run in a process of their own: forking the main run's process, which
# holds TensorFlow's threads by then, can leave a child waiting on a lock another thread held
# (two hangs seen under load in session 8; one more in session 10 in this fresh process, whose
# cause was tqdm's monitor thread holding tqdm's lock: tflm_train/fork_safety.py).
echo "[test] pytest -m 'forks and not slow' in a fresh process"
rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider -m "forks and not slow" "$@" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || status=$rc  # 5: the arguments selected none of them
if [ -n "$(ls -A "$reports")" ]; then
  cat "$reports"/*
  echo "[test] sanitizer report(s) above (kept in $reports)"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
