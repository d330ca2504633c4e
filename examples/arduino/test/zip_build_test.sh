#!/bin/bash
# zip_build_test.sh --board B --cpu-flags F --ld LD --common-ld COMMON_LD --runner run_qemu.sh
#                   --zip Z --sketch S --session session.txt --want host_replies.txt
#                   -- <shim, board, flash files>
# Builds the sketch from the unpacked library zip the way an Arduino build does (library src/
# compiled recursively with -I src, the .ino prefixed with #include <Arduino.h>, the sketch
# folder's .cpp files, Arduino-core-like flags: -Os, gnu++14, and no -ffp-contract=off), against
# our shim and board layer, then runs the Serial session in QEMU: the replies must equal the
# host twin's (built by Bazel from the repository sources with the project's flags).
set -u
cpu="" ld="" common_ld="" runner="" board="" zip="" sketch="" session="" want=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-flags) cpu=$2; shift 2 ;; --ld) ld=$2; shift 2 ;; --common-ld) common_ld=$2; shift 2 ;;
    --runner) runner=$2; shift 2 ;;
    --board) board=$2; shift 2 ;; --zip) zip=$2; shift 2 ;; --sketch) sketch=$2; shift 2 ;;
    --session) session=$2; shift 2 ;; --want) want=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "zip_build_test.sh: bad argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$board" ] || { echo "run with --config=an386 or --config=an500" >&2; exit 2; }
here=$PWD tmp=${TEST_TMPDIR:-$(mktemp -d)}
rm -rf "$tmp/lib" "$tmp/obj" && mkdir -p "$tmp/lib" "$tmp/obj"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tmp/lib"
lib=$tmp/lib/TflmTrain ex=$tmp/lib/TflmTrain/examples/$sketch
{ echo '#include <Arduino.h>'; echo "#line 1 \"$sketch.ino\""; cat "$ex/$sketch.ino"; } >"$ex/$sketch.ino.cpp"
shim_dir=$(dirname "$(printf '%s\n' "$@" | grep '/Arduino.h$')")
# shellcheck disable=SC2086
flags="$cpu -Os -std=gnu++14 -fno-exceptions -fno-rtti -ffunction-sections -fdata-sections -Wall"
srcs=$( (find "$lib/src" "$ex" -name '*.cpp'; printf '%s\n' "$@" | grep -E '\.(cc|cpp)$' | grep -v '/host_') | sort)
echo "=== compiling $(echo "$srcs" | wc -l) files"
# shellcheck disable=SC2086
if ! echo "$srcs" | xargs -P 2 -I{} sh -c 'o="$1/$(echo "$2" | tr / _).o"; arm-none-eabi-g++ $3 -I"$4" -I"$5/src" -I"$6" -c "$2" -o "$o" || exit 255' \
    _ "$tmp/obj" {} "$flags" "$shim_dir" "$lib" "$here"; then
  echo "FAIL: the library zip does not compile"; exit 1
fi
# shellcheck disable=SC2086
arm-none-eabi-g++ $cpu --specs=nano.specs --specs=rdimon.specs -nostartfiles \
  -Wl,--gc-sections -Wl,-u,_printf_float -L"$(dirname "$common_ld")" -T "$ld" "$tmp"/obj/*.o -o "$tmp/sketch.elf" \
  || { echo "FAIL: link"; exit 1; }
out=$tmp/out.txt
{ cat "$session"; printf '\004'; } | QEMU_TIMEOUT=100 "$runner" "$board" "$tmp/sketch.elf" -serial stdio >"$out" 2>&1
rc=$?
cat "$out"
replies() { tr -d '\r' <"$1" | grep -E '^(READY|OK|ERR) '; }
ok=1
[ "$rc" = 0 ] || { echo "FAIL: exit $rc"; ok=0; }
if diff <(replies "$want") <(replies "$out"); then echo "ok: $(replies "$out" | wc -l) replies equal the host twin's"
else echo "FAIL: replies differ (< host twin, > sketch built from the zip)"; ok=0; fi
[ "$(replies "$out" | grep -c '^OK T ')" = "$(grep -c '^T ' "$session")" ] || { echo "FAIL: missing OK T replies"; ok=0; }
[ $ok = 1 ]
