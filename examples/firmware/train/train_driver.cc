#include "examples/firmware/train/train_driver.h"

#include <cstring>

#include "tflm_train/runtime/c_api.h"

namespace tflm_train_fw {
namespace {

uint32_t Fnv1a(uint32_t h, const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}

uint32_t FloatBits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

void PrintHex(PrintFn print, const uint8_t* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  char line[2 * 64 + 1];
  for (size_t i = 0; i < n; i += 64) {
    const size_t m = n - i < 64 ? n - i : 64;
    for (size_t k = 0; k < m; ++k) {
      line[2 * k] = kDigits[data[i + k] >> 4];
      line[2 * k + 1] = kDigits[data[i + k] & 15];
    }
    line[2 * m] = 0;
    print("%s", line);
  }
}

// The input source of a program converted with input_source=True: rows of the current sample,
// read from the steps file in flash a few at a time, so the frame is never in SRAM. A program
// that stores its input gets the sample copied into tt_input() before tt_train, as before (a
// source would copy it inside tt_train: bench/mcu times the copy outside).
struct SampleRows {
  const uint8_t* sample;
};

int32_t ReadSampleRows(void* user, tt_input_request* request) {
  const SampleRows* rows = static_cast<const SampleRows*>(user);
  const size_t offset = static_cast<size_t>(request->first_row) * request->row_bytes;
  memcpy(request->dest, rows->sample + offset,
         static_cast<size_t>(request->num_rows) * request->row_bytes);
  return 0;
}

}  // namespace

int RunTraining(const uint8_t* model, size_t model_len, const uint8_t* steps, size_t steps_len,
                uint8_t* arena, size_t arena_size, void* session_storage, size_t storage_size,
                PrintFn print) {
  StepsHeader h;
  if (steps_len < sizeof(h)) {
    print("[train] error: steps file too short\n");
    return 4;
  }
  memcpy(&h, steps, sizeof(h));
  const size_t stride = 4 + ((h.sample_bytes + 3u) & ~3u);
  if (h.magic != kStepsMagic || h.version != 2 || h.sample_bytes == 0 || h.batch_size == 0 ||
      h.n_steps > (steps_len - sizeof(h)) / stride) {
    print("[train] error: malformed steps file\n");
    return 4;
  }
  tt_session* s = nullptr;
  int32_t rc = tt_open(session_storage, storage_size, model, model_len, arena, arena_size,
                       h.seed, &s);
  // The input's layout before the print: the zoo firmware times from its end to the first
  // step line.
  int32_t rows = 0;
  size_t row_bytes = 0;
  const bool streamed = rc == 0 && tt_input_streamed(s, &rows, &row_bytes) != 0;
  int8_t* input = rc != 0 || streamed ? nullptr : tt_input(s, nullptr);
  print("[train] arena planned %lu of %lu bytes, session %lu bytes\n",
        static_cast<unsigned long>(s ? tt_arena_required(s) : 0),
        static_cast<unsigned long>(arena_size), static_cast<unsigned long>(tt_session_size()));
  if (rc != 0) {
    print("[train] error: %s\n", s ? tt_error(s) : "session storage too small");
    return rc;
  }
  const size_t in_bytes = static_cast<size_t>(rows) * row_bytes;
  if (in_bytes != h.sample_bytes) {
    print("[train] error: samples have %lu bytes, the model input %lu\n",
          static_cast<unsigned long>(h.sample_bytes), static_cast<unsigned long>(in_bytes));
    return 4;
  }
  const tt_lr_schedule schedule{h.learning_rate, static_cast<int32_t>(h.warmup_steps),
                                 static_cast<int32_t>(h.total_steps), h.final_fraction};
  const uint8_t* p = steps + sizeof(h);
  SampleRows sample{p + 4};
  if (streamed) tt_set_input_source(s, ReadSampleRows, &sample);
  for (uint32_t i = 0; i < h.n_steps; ++i, p += stride) {
    int32_t label;
    memcpy(&label, p, 4);
    sample.sample = p + 4;
    if (input != nullptr) memcpy(input, p + 4, h.sample_bytes);
    const uint32_t start = i - i % h.batch_size;
    const uint32_t left = h.n_steps - start;
    tt_train_options options;
    options.learning_rate =
        tt_learning_rate(&schedule, static_cast<int32_t>(start / h.batch_size));
    options.rounding = h.rounding;
    options.batch_size = static_cast<int32_t>(left < h.batch_size ? left : h.batch_size);
    options.sample_in_batch = static_cast<int32_t>(i - start);
    options.target = nullptr;
    float loss = 0.0f;
    rc = tt_train(s, label, &options, &loss);
    if (rc != 0) {
      print("[train] error at step %lu: %s\n", static_cast<unsigned long>(i), tt_error(s));
      return rc;
    }
    print("step %lu label %ld loss 0x%08lx\n", static_cast<unsigned long>(i),
          static_cast<long>(label), static_cast<unsigned long>(FloatBits(loss)));
  }
  uint32_t checksum = 2166136261u;
  for (int32_t l = 0; l < tt_num_layers(s); ++l) {
    int32_t ids[2];
    tt_layer_tensors(s, l, &ids[0], &ids[1]);
    for (int32_t t : ids) {
      if (t < 0) continue;
      size_t n = 0;
      const uint8_t* data = tt_tensor_data(s, t, &n);
      print("tensor %ld %lu\n", static_cast<long>(t), static_cast<unsigned long>(n));
      PrintHex(print, data, n);
      print("\n");
      checksum = Fnv1a(checksum, data, n);
    }
  }
  print("checksum 0x%08lx\n", static_cast<unsigned long>(checksum));
  return 0;
}

}  // namespace tflm_train_fw
