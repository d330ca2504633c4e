#!/bin/bash
# Host = board for checkpoints: the demo firmware in QEMU must print the same model identity and
# the same weights CRC (after train, save, reopen, restore) as its host twin.
#   compare_test.sh <board> <run_qemu.sh> <demo.elf> <host_output.txt>
# Both sides must have printed exactly one line of each: two empty outputs are equal but prove
# nothing.
set -u
board=$1; run_qemu=$2; elf=$3; expected=$4
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$run_qemu" "$board" "$elf" > "$out" 2>&1
rc=$?
cat "$out"
if [ $rc -ne 0 ]; then echo "FAIL: firmware exit code $rc"; exit 1; fi
filter() { grep -E "^(model id|weights crc) " "$1"; }
complete() {  # complete <output> <side>
  local ids crcs
  ids=$(grep -c '^model id ' "$1"); crcs=$(grep -c '^weights crc ' "$1")
  if [ "$ids" != 1 ] || [ "$crcs" != 1 ]; then
    echo "FAIL: the $2 output has $ids 'model id' and $crcs 'weights crc' lines (1 each expected)"
    return 1
  fi
}
complete "$expected" "host" || exit 1
complete "$out" "board" || exit 1
if ! diff <(filter "$expected") <(filter "$out"); then
  echo "FAIL: firmware and host twin differ (host above is '<', board '>')"
  exit 1
fi
echo "PASS: $(filter "$out" | tr '\n' ' ')identical on host and $board"
