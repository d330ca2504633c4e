#!/bin/bash
# session_test.sh <an386|an500> <run_qemu.sh> <sketch.elf> <session.txt> <host_replies.txt>
# Feeds the session to the sketch's Serial (UART1, `-serial stdio`) in QEMU, then 0x04 to end
# it (the shim's test convention), and compares the sketch's replies with its host twin's.
set -u
board=$1 runner=$2 elf=$3 session=$4 want=$5
[ "$board" != none ] || { echo "run with --config=an386 or --config=an500" >&2; exit 2; }
out=${TEST_TMPDIR:-/tmp}/sketch_output.$$
{ cat "$session"; printf '\004'; } | QEMU_TIMEOUT=100 "$runner" "$board" "$elf" -serial stdio >"$out" 2>&1
rc=$?
cat "$out"
echo "=== exit=$rc"
ok=1
[ "$rc" = 0 ] || { echo "FAIL: the sketch exited with $rc"; ok=0; }
replies() { tr -d '\r' <"$1" | grep -E '^(READY|OK|ERR) '; }
if diff <(replies "$want") <(replies "$out"); then
  echo "ok: $(replies "$out" | wc -l) replies equal the host twin's"
else
  echo "FAIL: replies differ from the host twin's (< host, > board)"; ok=0
fi
# Guard against a vacuous pass (both sides failing the same way).
n_train=$(grep -c '^T ' "$session"); n_predict=$(grep -c '^P [0-9a-f]*$' "$session")
got_train=$(replies "$out" | grep -c '^OK T ')
got_predict=$(replies "$out" | grep -c '^OK P ')
echo "train replies $got_train (session has $n_train T lines), predict replies $got_predict"
[ "$got_train" = "$n_train" ] && [ "$got_predict" -ge 1 ] || { echo "FAIL: missing OK replies"; ok=0; }
replies "$out" | grep -q '^READY ' || { echo "FAIL: no READY"; ok=0; }
[ $ok = 1 ]
