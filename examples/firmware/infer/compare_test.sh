#!/bin/bash
# Host = MCU for inference: runs the inference firmware in QEMU and requires every output line
# and the checksum to equal, line for line, what the host build of the same sources printed.
#   compare_test.sh <board> <run_qemu.sh> <firmware.elf> <host_output.txt>
set -u
board=$1; run_qemu=$2; elf=$3; expected=$4
out=$(mktemp); trap 'rm -f "$out"' EXIT
QEMU_TIMEOUT=${QEMU_TIMEOUT:-250} "$run_qemu" "$board" "$elf" > "$out" 2>&1
rc=$?
grep -E "^\[infer\]|^\[board\]" "$out"
if [ $rc -ne 0 ]; then echo "FAIL: firmware exit code $rc"; cat "$out"; exit 1; fi
filter() { grep -E "^(infer|checksum) " "$1"; }
if [ "$(filter "$expected" | wc -l)" -lt 2 ]; then echo "FAIL: no host output"; exit 1; fi
if ! diff <(filter "$expected") <(filter "$out") > /dev/null; then
  echo "FAIL: firmware outputs differ from the host build"
  diff <(filter "$expected") <(filter "$out") | head -20
  exit 1
fi
echo "PASS: $(grep -c '^infer ' "$out") inferences, $(grep '^checksum' "$out") identical on host and $board"
