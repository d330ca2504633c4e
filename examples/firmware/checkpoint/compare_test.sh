#!/bin/bash
# Host = board for checkpoints: the demo firmware in QEMU must print the same model identity and
# the same weights CRC (after train, save, reopen, restore) as its host twin (exactly one line of
# each; targets/qemu/host_equals_board.sh).
#   compare_test.sh <board> <run_qemu.sh> <demo.elf> <host_output.txt>
targets=$(dirname "$(readlink -f "$0")")/../../../targets
exec "$targets/qemu/host_equals_board.sh" --show . --compare '^(model id|weights crc) ' \
  --count 'model id 1' --count 'weights crc 1' -- "$@"
