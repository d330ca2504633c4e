#!/bin/bash
# Host = MCU for inference: every output line and the checksum of the inference firmware in
# QEMU must equal, line for line, what the host build of the same sources printed (at least one
# inference, exactly one checksum; targets/qemu/host_equals_board.sh).
#   compare_test.sh <board> <run_qemu.sh> <firmware.elf> <host_output.txt>
targets=$(dirname "$(readlink -f "$0")")/../../../targets
QEMU_TIMEOUT=${QEMU_TIMEOUT:-250} exec "$targets/qemu/host_equals_board.sh" \
  --show '^\[(infer|board)\]' --compare '^(infer|checksum) ' \
  --count 'infer 1+' --count 'checksum 1' -- "$@"
