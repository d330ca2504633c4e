#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cc) with clang: coverage instrumentation plus ASan,
# UBSan and float-cast-overflow (scripts/sanitizer_flags.sh), into build/fuzz/<target>.
# Run one: build/fuzz/session_fuzz fuzz/corpus/session  (or python -m bench.fuzz, fuzz/smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitizer_flags.sh

out=build/fuzz
runtime=(tflm_train/runtime/*.cc kernels/*.cc kernels/training/*.cc)
targets=(fuzz/*_fuzz.cc)
sanitize_compile "$out/obj" -fsanitize=fuzzer-no-link \
  -DTFLM_FUZZ_CHECKPOINT_MODEL="\"$PWD/fuzz/checkpoint_model.tflite\"" -- \
  "${runtime[@]}" "${targets[@]}"
runtime_objects=()
for s in "${runtime[@]}"; do runtime_objects+=("$(sanitize_object "$out/obj" "$s")"); done
for t in "${targets[@]}"; do
  name=$(basename "$t" .cc)
  clang++ "${SANITIZE_CXXFLAGS[@]}" -fsanitize=fuzzer -o "$out/$name" \
    "$(sanitize_object "$out/obj" "$t")" "${runtime_objects[@]}"
done
ls "$out" | grep _fuzz
