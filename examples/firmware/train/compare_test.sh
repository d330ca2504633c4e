#!/bin/bash
# Host = MCU: the training firmware's step losses, trained tensors and checksum in QEMU must
# equal, line for line, what the host build of the same sources printed (at least one step and
# one trained tensor, exactly one checksum; targets/qemu/host_equals_board.sh).
#   compare_test.sh <board> <run_qemu.sh> <firmware.elf> <host_output.txt>
targets=$(dirname "$(readlink -f "$0")")/../../../targets
exec "$targets/qemu/host_equals_board.sh" --show '^\[(train|board)\]' \
  --compare '^(step|tensor|checksum|[0-9a-f]+$)' \
  --count 'step 1+' --count 'tensor 1+' --count 'checksum 1' -- "$@"
