#!/bin/bash
# Host = MCU: runs the training firmware in QEMU and requires its step losses, trained tensors
# and checksum to equal, line for line, what the host build of the same sources printed.
#   compare_test.sh <board> <run_qemu.sh> <firmware.elf> <host_output.txt>
set -u
board=$1; run_qemu=$2; elf=$3; expected=$4
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$run_qemu" "$board" "$elf" > "$out" 2>&1
rc=$?
grep -E "^\[train\]|^\[board\]" "$out"
if [ $rc -ne 0 ]; then echo "FAIL: firmware exit code $rc"; cat "$out"; exit 1; fi
filter() { grep -E "^(step|tensor|checksum|[0-9a-f]+$)" "$1"; }
if ! diff <(filter "$expected") <(filter "$out") > /dev/null; then
  echo "FAIL: firmware bytes differ from the host build"
  diff <(filter "$expected") <(filter "$out") | head -20
  exit 1
fi
echo "PASS: $(grep -c '^step' "$out") steps, $(grep '^checksum' "$out") identical on host and $board"
