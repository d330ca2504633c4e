# Sourced by install.sh. `quietly NAME COMMAND...` runs COMMAND with its output kept in a log;
# on failure it shows the log's last lines without Bazel's sandbox debug lines and pip's notes
# about absent local index folders (noise that would hide the real error), then exits 1.
LOG_DIR=${LOG_DIR:-$(mktemp -d /tmp/tflm-train-install.XXXXXX)}
QUIET_NOISE='^[0-9]+\.[0-9]+: src/main/tools/|^WARNING: Location .* is ignored|^Starting local Bazel server'
quietly() {
  local log="$LOG_DIR/$1.log"; shift
  if ! "$@" > "$log" 2>&1; then
    echo "[install] FAILED: $* (full log: $log)" >&2
    grep -vE "$QUIET_NOISE" "$log" | tail -n 60 >&2
    exit 1
  fi
  rm -f "$log"
}
