#!/bin/bash
# Host = board: runs a firmware in QEMU and requires the lines it compares to equal, line for
# line, what the host build of the same sources printed. The firmware's compare_test.sh says
# which lines; this script does the rest:
#   host_equals_board.sh --show ERE --compare ERE --count 'PREFIX MIN[+]'... --
#                        <board> <run_qemu.sh> <firmware.elf> <host_output.txt>
# --show: the board's lines echoed into the test log ('.' for all);
# --compare: the lines that must be equal;
# --count 'step 1+': at least 1 line starting 'step ', 'checksum 1': exactly 1. Both sides must
#   have them: two empty or truncated outputs are equal but prove nothing.
# Environment: QEMU_TIMEOUT, as for run_qemu.sh.
set -u
show="." compare="" counts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --show) show=$2; shift 2 ;;
    --compare) compare=$2; shift 2 ;;
    --count) counts+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "host_equals_board.sh: bad argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$compare" ] || [ ${#counts[@]} = 0 ] || [ $# != 4 ]; then
  echo "host_equals_board.sh: needs --compare, --count and <board> <run_qemu.sh> <elf> <host>" >&2
  exit 2
fi
board=$1; run_qemu=$2; elf=$3; expected=$4
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$run_qemu" "$board" "$elf" > "$out" 2>&1
rc=$?
grep -E -- "$show" "$out"
if [ $rc -ne 0 ]; then echo "FAIL: firmware exit code $rc"; cat "$out"; exit 1; fi
filter() { grep -E -- "$compare" "$1"; }
join() { local out=$1; shift; for x in "$@"; do out+=", $x"; done; echo "$out"; }
complete() {  # complete <output> <side>: every --count holds
  local spec prefix want n found=() ok=1
  for spec in "${counts[@]}"; do
    prefix=${spec% *}; want=${spec##* }
    n=$(grep -c -- "^$prefix " "$1")
    found+=("$n '$prefix'")
    case "$want" in
      *+) [ "$n" -ge "${want%+}" ] || ok=0 ;;
      *) [ "$n" = "$want" ] || ok=0 ;;
    esac
  done
  if [ $ok = 0 ]; then
    echo "FAIL: the $2 output has $(join "${found[@]}") lines (expected: $(join "${counts[@]}"))"
    return 1
  fi
}
complete "$expected" "host" || exit 1
complete "$out" "board" || { cat "$out"; exit 1; }
if ! diff <(filter "$expected") <(filter "$out") > /dev/null; then
  echo "FAIL: the board's lines differ from the host build's (host '<', board '>')"
  diff <(filter "$expected") <(filter "$out") | head -20
  exit 1
fi
summary=()
for spec in "${counts[@]}"; do
  prefix=${spec% *}
  summary+=("$(grep -c -- "^$prefix " "$out") '$prefix'")
done
echo "PASS: $(join "${summary[@]}") lines identical on host and $board"
