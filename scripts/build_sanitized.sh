#!/usr/bin/env bash
# Builds the C++ host library (and the test shims) with clang under AddressSanitizer,
# UndefinedBehaviorSanitizer and float-cast-overflow, into build/sanitized/:
#   libtflm_train_asan.so           the runtime + kernels (what tflm_train/_native.py loads when
#                                   TFLM_TRAIN_LIB points at it)
#   lib{forward,training,reader}_shim.so   the test shims (tests/native_libs.py loads them from
#                                   TFLM_TRAIN_SHIM_DIR)
# Every report aborts the process (-fno-sanitize-recover=all). Python is not instrumented, so the
# ASan runtime must be preloaded: scripts/test_sanitized.sh shows the exact environment.
# Same language subset and float flags as .bazelrc, so results are the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitizer_flags.sh

out=build/sanitized
mkdir -p "$out/obj"

# Compile each source once (in parallel, both cores), then link the libraries from the objects.
compile() {
  local src=$1 obj="$out/obj/${1//\//_}.o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find kernels tflm_train/runtime \
       -name '*.h' -newer "$obj" -print -quit)" ]; then
    clang++ "${SANITIZE_CXXFLAGS[@]}" -fPIC -c "$src" -o "$obj"
  fi
  echo "$obj"
}
export -f compile
export out
export SANITIZE_CXXFLAGS_STR="${SANITIZE_CXXFLAGS[*]}"

kernel_srcs=(kernels/*.cc kernels/training/*.cc)
runtime_srcs=(tflm_train/runtime/*.cc)
printf '%s\n' "${kernel_srcs[@]}" "${runtime_srcs[@]}" tests/native/*.cc |
  xargs -P 2 -I{} bash -c 'SANITIZE_CXXFLAGS=($SANITIZE_CXXFLAGS_STR); compile {}' > /dev/null

obj() { for s in "$@"; do echo "$out/obj/${s//\//_}.o"; done; }
link() { clang++ "${SANITIZE_CXXFLAGS[@]}" -shared -shared-libsan -o "$@"; }
mapfile -t kernel_objs < <(obj "${kernel_srcs[@]}")
mapfile -t forward_objs < <(obj kernels/*.cc)
mapfile -t runtime_objs < <(obj "${runtime_srcs[@]}")
mapfile -t reader_objs < <(obj tflm_train/runtime/flatbuffer_reader.cc tflm_train/runtime/tflite_model.cc)
link "$out/libtflm_train_asan.so" "${runtime_objs[@]}" "${kernel_objs[@]}"
link "$out/libforward_shim.so" "$(obj tests/native/forward_shim.cc)" "${forward_objs[@]}"
link "$out/libtraining_shim.so" "$(obj tests/native/training_shim.cc)" "${kernel_objs[@]}"
link "$out/libreader_shim.so" "$(obj tests/native/reader_shim.cc)" "${reader_objs[@]}"
echo "$out/libtflm_train_asan.so"
