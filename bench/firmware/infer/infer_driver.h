// The inference run shared by the firmware and its host twin: the same C++ on both, so their
// printed output bytes can be compared line for line (design contract "host = MCU").
#ifndef TFLM_TRAIN_BENCH_FIRMWARE_INFER_INFER_DRIVER_H_
#define TFLM_TRAIN_BENCH_FIRMWARE_INFER_INFER_DRIVER_H_

#include <cstddef>
#include <cstdint>

namespace tflm_train_fw {

using PrintFn = int (*)(const char* fmt, ...);
using TicksFn = uint64_t (*)();

// Input sample `index` for `seed`: xorshift32 bytes, so the board needs no input data in flash
// and a host can regenerate the same inputs (bench/zoo/firmware_inputs.py mirrors this).
void FillInput(uint32_t seed, uint32_t index, int8_t* input, size_t bytes);

// Opens the model (an extended model, normally with an inference-only plan) in the arena, then
// runs `runs` inferences on FillInput(seed, i). Prints per inference the output bytes in hex
// and their FNV-1a checksum ("infer i out <hex> fnv 0x..."), and, when `ticks` is given, the
// tick count of tt_invoke alone ("[infer] ticks i <n>"). Returns 0 or the runtime's status.
int RunInference(const uint8_t* model, size_t model_len, uint8_t* arena, size_t arena_size,
                 void* session_storage, size_t storage_size, uint32_t seed, uint32_t runs,
                 PrintFn print, TicksFn ticks);

// Per-op profile: opens the model (its plan must keep every tensor whole: no streamed chains),
// fills input FillInput(seed, 0) and runs the ops one by one with tt_invoke_op, printing
// "[profile] op <i> ticks <n>" per op and the output like RunInference. Returns 0 or a status.
int RunProfile(const uint8_t* model, size_t model_len, uint8_t* arena, size_t arena_size,
               void* session_storage, size_t storage_size, uint32_t seed, PrintFn print,
               TicksFn ticks);

}  // namespace tflm_train_fw

#endif  // TFLM_TRAIN_BENCH_FIRMWARE_INFER_INFER_DRIVER_H_
