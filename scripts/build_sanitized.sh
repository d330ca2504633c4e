#!/usr/bin/env bash
# Builds the C++ host library and the test shims with clang under AddressSanitizer,
# UndefinedBehaviorSanitizer and float-cast-overflow, into build/sanitized/:
#   libtflm_train_asan.so                 runtime + kernels: tflm_train/_native.py loads it when
#                                         TFLM_TRAIN_LIB points at it
#   lib{forward,training,reader}_shim.so  the test shims: tests/native_libs.py loads them from
#                                         TFLM_TRAIN_SHIM_DIR
# Any report aborts the process (-fno-sanitize-recover=all). Python is not instrumented, so the
# ASan runtime must be preloaded: scripts/test_sanitized.sh sets up the exact environment.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitizer_flags.sh

out=build/sanitized
forward=(kernels/*.cc)
training=(kernels/training/*.cc)
runtime=(tflm_train/runtime/*.cc tflm_train/host/*.cc)
reader=(tflm_train/runtime/flatbuffer_reader.cc tflm_train/runtime/tflite_model.cc)
sanitize_compile "$out/obj" -- "${forward[@]}" "${training[@]}" "${runtime[@]}" tests/native/*.cc

objects() { for s in "$@"; do sanitize_object "$out/obj" "$s"; done; }
link() {
  local lib=$1; shift
  clang++ "${SANITIZE_CXXFLAGS[@]}" -shared -shared-libsan -o "$out/$lib" $(objects "$@")
}
link libtflm_train_asan.so "${runtime[@]}" "${forward[@]}" "${training[@]}"
link libforward_shim.so tests/native/forward_shim.cc "${forward[@]}"
link libtraining_shim.so tests/native/training_shim.cc "${forward[@]}" "${training[@]}"
link libreader_shim.so tests/native/reader_shim.cc "${reader[@]}"
echo "$out/libtflm_train_asan.so"
