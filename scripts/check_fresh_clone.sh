#!/usr/bin/env bash
# Verifies a submission as CI will: clones the committed HEAD (uncommitted changes are NOT
# included; the script says so) into a new temporary folder with ../shared beside it, and runs
# .ci/run there with CI=true and no standard input. Run it before saying an issue is resolved.
#
#   scripts/check_fresh_clone.sh [--keep]     # --keep leaves the clone for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
keep=0; [ "${1:-}" = "--keep" ] && keep=1
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "[fresh-clone] note: uncommitted changes are not part of this check:"
  git status --short --untracked-files=no | sed 's/^/  /'
fi
work=$(mktemp -d /tmp/tflm-train-fresh.XXXXXX)
[ $keep -eq 1 ] || trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/main"
[ -d "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"
echo "[fresh-clone] $(git -C "$work/main" log -1 --format='%h %s') in $work/main"
start=$(date +%s)
rc=0
(cd "$work/main" && CI=true bash .ci/run < /dev/null) || rc=$?
echo "[fresh-clone] .ci/run exited $rc after $(( $(date +%s) - start )) s"
exit $rc
