#!/bin/bash
# Runs a firmware ELF in QEMU and passes its exit code through.
#
#   run_qemu.sh <an386|an500|an505|an385|an547|rv32> <elf> [extra qemu-system-arm args...]
#
# - an386 -> qemu-system-arm -M mps2-an386 (Cortex-M4F, Nano 33 BLE stand-in)
#   an500 -> qemu-system-arm -M mps2-an500 (Cortex-M7, STM32F746 stand-in)
#   an505 -> qemu-system-arm -M mps2-an505 (Cortex-M33, nRF5340 app core stand-in)
#   an385 -> qemu-system-arm -M mps2-an385 (Cortex-M3 without FPU, RP2040-class stand-in)
#   an547 -> qemu-system-arm -M mps3-an547 (Cortex-M55 with MVE)
#   rv32  -> qemu-system-riscv32 -M virt -bios none (RV32IMC, ESP32-C3 class); its semihosting
#            console (picolibc writes through it) is put on stdout
# - Firmware stdout/stderr (ARM semihosting) appear on this script's stdout/stderr.
# - Exit status: the firmware's exit code (main's return value / board_exit(n));
#   42 = fault (MPU violation, stack overflow, HardFault, ...; the handler prints CFSR etc.);
#   124 = killed by the timeout; 2 = usage error.
# - Always runs with -icount shift=0, so board_ticks() is deterministic (1 tick = 40 insns).
# Environment: QEMU_TIMEOUT (seconds, default 120), QEMU (default qemu-system-arm).
set -u
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
case "$1" in
  an386 | mps2-an386) machine=mps2-an386 ;;
  an500 | mps2-an500) machine=mps2-an500 ;;
  an505 | mps2-an505) machine=mps2-an505 ;;
  an385 | mps2-an385) machine=mps2-an385 ;;
  an547 | mps3-an547) machine=mps3-an547 ;;
  rv32 | virt) machine=virt ;;
  *) echo "run_qemu.sh: unknown board '$1' (an386|an500|an505|an385|rv32)" >&2; usage ;;
esac
elf=$2
shift 2
if [ ! -f "$elf" ]; then
  echo "run_qemu.sh: no such firmware: $elf" >&2
  exit 2
fi
if [ "$machine" = virt ]; then
  exec timeout -k 5 "${QEMU_TIMEOUT:-120}" "${QEMU:-qemu-system-riscv32}" -M virt -bios none \
    -nographic -monitor none -serial none -chardev stdio,id=semihosting \
    -semihosting-config enable=on,target=native,chardev=semihosting -icount shift=0 \
    -kernel "$elf" "$@"
fi
exec timeout -k 5 "${QEMU_TIMEOUT:-120}" "${QEMU:-qemu-system-arm}" -M "$machine" \
  -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0 \
  -kernel "$elf" "$@"
