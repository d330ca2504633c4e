# Compiler flags and an incremental compile step shared by the sanitized host library
# (scripts/build_sanitized.sh) and the libFuzzer targets (fuzz/build.sh). Sourced, not run.
# The language subset and float semantics are .bazelrc's (strict IEEE, no contraction), so a
# sanitized build computes the same bytes; -O1 keeps the reports' stacks readable.
SANITIZE_CXXFLAGS=(
  -std=c++17 -fno-exceptions -fno-rtti -ffp-contract=off -fno-fast-math -Wall
  -O1 -g -fno-omit-frame-pointer -fPIC -I.
  # clang's `undefined` group includes float-cast-overflow; named anyway because the float ->
  # int8/int32 paths (QUANTIZE, SGD updates, QAS) are where it matters. Any report aborts.
  -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
)

# Object file for source $2 in directory $1.
sanitize_object() { echo "$1/${2//\//_}.o"; }

# sanitize_compile OBJDIR EXTRA_FLAG... -- SOURCE...: compiles each source (both cores) unless
# its object is newer than the source and every header it included (clang -MMD lists them).
sanitize_compile() {
  local dir=$1; shift
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  mkdir -p "$dir"
  local todo=() src obj dep
  for src in "$@"; do
    obj=$(sanitize_object "$dir" "$src")
    dep=${obj%.o}.d
    if [ -f "$obj" ] && [ -f "$dep" ] &&
       [ -z "$(find $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep") -newer "$obj" 2>/dev/null)" ]; then
      continue
    fi
    todo+=("$src")
  done
  [ ${#todo[@]} -eq 0 ] && return 0
  printf '%s\n' "${todo[@]}" | xargs -P 2 -I{} sh -c \
    'o="$1/$(echo "$2" | tr / _).o"; shift 2; exec "$@" -MMD -c "$0" -o "$o"' \
    {} "$dir" {} clang++ "${SANITIZE_CXXFLAGS[@]}" "${extra[@]}"
}
