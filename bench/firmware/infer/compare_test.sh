#!/bin/bash
# Host = MCU for inference: runs the inference firmware in QEMU and requires every output line
# and the checksum to equal, line for line, what the host build of the same sources printed.
#   compare_test.sh <board> <run_qemu.sh> <firmware.elf> <host_output.txt>
# Both sides must have printed the lines compared (at least one inference, exactly one
# checksum): two empty or truncated outputs are equal but prove nothing.
set -u
board=$1; run_qemu=$2; elf=$3; expected=$4
out=$(mktemp); trap 'rm -f "$out"' EXIT
QEMU_TIMEOUT=${QEMU_TIMEOUT:-250} "$run_qemu" "$board" "$elf" > "$out" 2>&1
rc=$?
grep -E "^\[infer\]|^\[board\]" "$out"
if [ $rc -ne 0 ]; then echo "FAIL: firmware exit code $rc"; cat "$out"; exit 1; fi
filter() { grep -E "^(infer|checksum) " "$1"; }
complete() {  # complete <output> <side>
  local runs sums
  runs=$(grep -c '^infer ' "$1"); sums=$(grep -c '^checksum ' "$1")
  if [ "$runs" -lt 1 ] || [ "$sums" != 1 ]; then
    echo "FAIL: the $2 output has $runs infer and $sums checksum lines" \
      "(at least 1 and exactly 1 expected)"
    return 1
  fi
}
complete "$expected" "host" || exit 1
complete "$out" "board" || { cat "$out"; exit 1; }
if ! diff <(filter "$expected") <(filter "$out") > /dev/null; then
  echo "FAIL: firmware outputs differ from the host build"
  diff <(filter "$expected") <(filter "$out") | head -20
  exit 1
fi
echo "PASS: $(grep -c '^infer ' "$out") inferences, $(grep '^checksum' "$out") identical on host and $board"
