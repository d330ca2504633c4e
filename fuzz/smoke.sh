#!/usr/bin/env bash
# CI smoke run of every fuzz target: a fixed seed and a fixed number of runs each (under a minute
# in total), from the checked-in seeds into a scratch corpus, then every stored crash input
# (fuzz/regressions/<target>/) replayed. Fails on any crash, hang or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz/build.sh > /dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
declare -A runs=([model_reader]=10000 [program_reader]=20000 [session]=1000
                 [checkpoint_restore]=1000 [converter]=60)
targets=(model_reader program_reader session checkpoint_restore)
if .venv/bin/python -c "import atheris" 2> /dev/null; then
  targets+=(converter)
else
  echo "[fuzz] converter: atheris not installed, skipped"
fi
for t in "${targets[@]}"; do
  if [ "$t" = converter ]; then
    exe=(.venv/bin/python fuzz/converter_fuzz.py)
  else
    exe=("build/fuzz/${t}_fuzz")
  fi
  mkdir -p "$scratch/$t"
  start=$SECONDS
  # The converter's planner takes seconds on mutated shapes of millions of rows: not a hang.
  timeout=10; [ "$t" = converter ] && timeout=60
  if ! "${exe[@]}" -runs="${runs[$t]}" -seed=1 -timeout=$timeout -rss_limit_mb=2048 \
       -artifact_prefix="$scratch/$t-" "$scratch/$t" "fuzz/corpus/$t" > "$scratch/$t.log" 2>&1; then
    tail -n 40 "$scratch/$t.log"
    echo "[fuzz] $t: FAILED (the input is printed above as 'Test unit written to ...')"
    exit 1
  fi
  if [ -d "fuzz/regressions/$t" ]; then
    if ! "${exe[@]}" fuzz/regressions/"$t"/* > "$scratch/$t.replay.log" 2>&1; then
      tail -n 40 "$scratch/$t.replay.log"
      echo "[fuzz] $t: a stored crash input fails again"
      exit 1
    fi
  fi
  echo "[fuzz] $t: ${runs[$t]} runs, seed 1, ok ($((SECONDS - start)) s)"
done
