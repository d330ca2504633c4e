#!/bin/bash
# Test driver behind firmware_link_fail_test() (see targets/defs.bzl): compiles and links the
# given sources with the board layer and the board's linker script by calling arm-none-eabi-g++
# directly, and passes iff the link FAILS with a message matching --expect.
# With --control-define, the same sources built with those defines must link (positive control).
set -u
cpu="" ld="" common_ld="" expect="" defs=() ctl=() stack=""
while [ $# -gt 0 ]; do
  case "$1" in
    --board) shift 2 ;;  # (the flags below say everything the link needs)
    --cpu-flags) cpu=$2; shift 2 ;;
    --ld) ld=$2; shift 2 ;;
    --common-ld) common_ld=$2; shift 2 ;;
    --expect) expect=$2; shift 2 ;;
    --define) defs+=("-D$2"); shift 2 ;;
    --control-define) ctl+=("-D$2"); shift 2 ;;
    --stack-size) stack="-Wl,--defsym=_stack_size=$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "link_fail_test.sh: bad argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$ld" ] || { echo "no board (run with --config=an386 or --config=an500)" >&2; exit 2; }
[ -n "$common_ld" ] || { echo "link_fail_test.sh: --common-ld missing" >&2; exit 2; }
tmp=${TEST_TMPDIR:-$(mktemp -d)}
# shellcheck disable=SC2086
link() {  # link <out> <extra flags...>
  local out=$1; shift
  arm-none-eabi-g++ $cpu -std=c++17 -fno-exceptions -fno-rtti -O2 \
    -ffunction-sections -fdata-sections -I. --specs=nano.specs --specs=rdimon.specs \
    -nostartfiles -Wl,--gc-sections -Wl,-u,_printf_float -L"$(dirname "$common_ld")" -T "$ld" \
    ${stack:+"$stack"} "$@" -o "$out" 2>&1
}
ok=1
if [ ${#ctl[@]} -gt 0 ]; then
  echo "=== control build (${ctl[*]}): must link"
  if link "$tmp/control.elf" "${ctl[@]}" "$@"; then
    echo "ok: control links"
  else
    echo "FAIL: control build does not link"; ok=0
  fi
fi
echo "=== overflow build (${defs[*]:-}): must NOT link, expecting /$expect/"
if msg=$(link "$tmp/overflow.elf" "${defs[@]}" "$@"); then
  echo "$msg"; echo "FAIL: linked although it should not fit"; ok=0
else
  echo "$msg"
  if echo "$msg" | grep -Eq -- "$expect"; then echo "ok: link failed as expected"
  else echo "FAIL: link failed, but not with /$expect/"; ok=0; fi
fi
[ $ok = 1 ]
