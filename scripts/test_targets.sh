#!/usr/bin/env bash
# Nightly-style run of the firmware tests on the boards beyond the M4 and M7 (issue 17): every
# firmware test wherever it lives, in QEMU, per --config, with the time each config took.
#   scripts/test_targets.sh                 # an505 an385 an547 rv32
#   scripts/test_targets.sh an505 rv32      # some of them
# scripts/test.sh (the README's test command) runs an386 and an500 only; this adds minutes per
# config (NOTES.md "Issue 17" has the measured times).
set -uo pipefail
cd "$(dirname "$0")/.."
boards=("$@")
[ ${#boards[@]} -gt 0 ] || boards=(an505 an385 an547 rv32)
status=0
for board in "${boards[@]}"; do
  start=$(date +%s)
  echo "[test_targets] bazel test --config=$board //... (firmware in QEMU)"
  out=$(bazel test --config="$board" //... 2>&1)
  rc=$?
  echo "$out" | grep -E "PASSED|FAILED|NO STATUS|Executed|ERROR" || true
  echo "[test_targets] $board: exit $rc in $(( $(date +%s) - start )) s"
  [ $rc = 0 ] || status=1
done
exit $status
