#!/bin/bash
# Host = board for checkpoints: the demo firmware in QEMU must print the same model identity and
# the same weights CRC (after train, save, reopen, restore) as its host twin.
#   compare_test.sh <board> <run_qemu.sh> <demo.elf> <host_output.txt>
set -u
board=$1; run_qemu=$2; elf=$3; expected=$4
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$run_qemu" "$board" "$elf" > "$out" 2>&1
rc=$?
cat "$out"
if [ $rc -ne 0 ]; then echo "FAIL: firmware exit code $rc"; exit 1; fi
filter() { grep -E "^(model id|weights crc) " "$1"; }
if [ "$(filter "$expected" | wc -l)" != 2 ] || ! diff <(filter "$expected") <(filter "$out"); then
  echo "FAIL: firmware and host twin differ (host above is '<', board '>')"
  exit 1
fi
echo "PASS: $(filter "$out" | tr '\n' ' ')identical on host and $board"
