#!/bin/bash
# Host = MCU: runs the training firmware in QEMU and requires its step losses, trained tensors
# and checksum to equal, line for line, what the host build of the same sources printed.
#   compare_test.sh <board> <run_qemu.sh> <firmware.elf> <host_output.txt>
# Both sides must have printed the lines compared (at least one step and one trained tensor,
# exactly one checksum): two empty or truncated outputs are equal but prove nothing.
set -u
board=$1; run_qemu=$2; elf=$3; expected=$4
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$run_qemu" "$board" "$elf" > "$out" 2>&1
rc=$?
grep -E "^\[train\]|^\[board\]" "$out"
if [ $rc -ne 0 ]; then echo "FAIL: firmware exit code $rc"; cat "$out"; exit 1; fi
filter() { grep -E "^(step|tensor|checksum|[0-9a-f]+$)" "$1"; }
complete() {  # complete <output> <side>
  local steps tensors sums
  steps=$(grep -c '^step ' "$1"); tensors=$(grep -c '^tensor ' "$1"); sums=$(grep -c '^checksum ' "$1")
  if [ "$steps" -lt 1 ] || [ "$tensors" -lt 1 ] || [ "$sums" != 1 ]; then
    echo "FAIL: the $2 output has $steps step, $tensors tensor and $sums checksum lines" \
      "(at least 1, at least 1 and exactly 1 expected)"
    return 1
  fi
}
complete "$expected" "host" || exit 1
complete "$out" "board" || { cat "$out"; exit 1; }
if ! diff <(filter "$expected") <(filter "$out") > /dev/null; then
  echo "FAIL: firmware bytes differ from the host build"
  diff <(filter "$expected") <(filter "$out") | head -20
  exit 1
fi
echo "PASS: $(grep -c '^step' "$out") steps, $(grep '^checksum' "$out") identical on host and $board"
