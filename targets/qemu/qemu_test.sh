#!/bin/bash
# Test driver behind the qemu_test() macro (see targets/defs.bzl). Not meant to be called by hand:
#   qemu_test.sh --board B --expect-exit N --timeout S --runner run_qemu.sh
#                [--expect-output REGEX]... [--qemu-arg ARG]... -- FILE...
# The ELF is the first FILE ending in .elf (else the first FILE).
set -u
board="" want=0 tmo=50 runner="" pats=() qargs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --board) board=$2; shift 2 ;;
    --expect-exit) want=$2; shift 2 ;;
    --timeout) tmo=$2; shift 2 ;;
    --runner) runner=$2; shift 2 ;;
    --expect-output) pats+=("$2"); shift 2 ;;
    --qemu-arg) qargs+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "qemu_test.sh: bad argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$board" ]; then
  echo "qemu_test.sh: no board (run with --config=an386 or --config=an500)" >&2
  exit 2
fi
elf=""
for f in "$@"; do case "$f" in *.elf) elf=$f; break ;; esac; done
[ -n "$elf" ] || elf=${1:-}
out=${TEST_TMPDIR:-/tmp}/qemu_output.$$
echo "=== run_qemu.sh $board $elf ${qargs[*]:-}"
QEMU_TIMEOUT=$tmo "$runner" "$board" "$elf" "${qargs[@]}" >"$out" 2>&1 </dev/null
rc=$?
cat "$out"
echo "=== exit=$rc expected=$want"
ok=1
[ "$rc" = "$want" ] || { echo "FAIL: exit code $rc != $want"; ok=0; }
[ "$rc" = 124 ] && echo "FAIL: timed out after ${tmo}s"
for p in "${pats[@]}"; do
  if grep -Eq -- "$p" "$out"; then echo "ok: output matches /$p/"; else echo "FAIL: output does not match /$p/"; ok=0; fi
done
[ $ok = 1 ]
