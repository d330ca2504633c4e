# Compiler flags shared by the sanitized host library (scripts/build_sanitized.sh) and the
# libFuzzer targets (fuzz/build.sh). Sourced, not run.
# The language subset and float semantics are .bazelrc's (strict IEEE, no contraction), so a
# sanitized build computes the same bytes; -O1 keeps the reports' stacks readable.
SANITIZE_CXXFLAGS=(
  -std=c++17 -fno-exceptions -fno-rtti -ffp-contract=off -fno-fast-math -Wall
  -O1 -g -fno-omit-frame-pointer -I.
  # undefined includes float-cast-overflow in clang; named anyway because the float -> int8/int32
  # paths (quantize, SGD updates, QAS) are where it matters. Any report aborts.
  -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
)
