#!/bin/bash
# reboot_test.sh <an386|an500> <run_qemu.sh> <sketch.elf> <reboot_session.txt>
# Training survives a reset: the sketch trains one mini-batch, saves a checkpoint, reboots
# (NVIC_SystemReset: RAM lost; QEMU keeps the checkpoint region like flash), and after the
# restart setup() must restore it: READY reports the saved step count and the weight hash
# equals the one taken before the reboot.
set -u
board=$1 runner=$2 elf=$3 session=$4
[ "$board" != none ] || { echo "run with --config=an386 or --config=an500" >&2; exit 2; }
out=${TEST_TMPDIR:-/tmp}/reboot_output.$$
{ cat "$session"; printf '\004'; } | QEMU_TIMEOUT=100 "$runner" "$board" "$elf" -serial stdio >"$out" 2>&1
rc=$?
tr -d '\r' <"$out" | grep -v '^OK T ' | cut -c1-120
echo "=== exit=$rc"
r() { tr -d '\r' <"$out" | grep -E "$1"; }
ok=1
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; ok=0; fi; }
check "exit code 0" '[ "$rc" = 0 ]'
check "8 training replies" '[ "$(r "^OK T " | wc -l)" = 8 ]'
check "saved at step 8" 'r "^OK S 8 [01] [0-9]+$" >/dev/null'
check "rebooted" 'r "^OK B$" >/dev/null'
check "two boots: steps 0, then 8" '[ "$(r "^READY " | sed "s/.* steps //" | tr "\n" " ")" = "0 8 " ]'
check "hash after the reboot equals the saved one" \
  '[ "$(r "^OK H " | wc -l)" = 2 ] && [ "$(r "^OK H 8 " | sort -u | wc -l)" = 1 ]'
check "prediction after the reboot" 'r "^OK P [0-9]" >/dev/null'
[ $ok = 1 ]
